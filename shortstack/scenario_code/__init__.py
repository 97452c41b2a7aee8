"""The scenarios' code, as it sits in a rendered service's package.

`orders/` is copied into the service's package (`src/<package>/orders/`), so its relative
imports reach the service: `from .. import startup` is the service's `startup` module. The
`.pyi` files beside it state the part of the service the scenarios use, so that ruff and mypy
check this code here as they check the rest of shortstack; the scenarios then run it against
the real service (tests/test_scenarios.py).
"""
