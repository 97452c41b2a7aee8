"""Add errutil to an existing repository as a copier component and wire its entry points.

`make setup-panic-handler DEST=...` runs `python -m shortstack.inject` (cli.py). detect.py finds
the package, component.py renders errutil with copier, wire.py edits entry points with libcst.
"""

from .cli import main

__all__ = ["main"]
