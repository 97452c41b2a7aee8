"""Which frames are the app's, and how a frame's file is shown.

A frame belongs to the app when its module name is one of the app packages or inside
one (``name == p or name.startswith(p + ".")``): never a bare path-prefix match, so
``click`` does not swallow ``click_plugins``. Results are cached per module name and
per file, which is what keeps a walk over a deep framework stack cheap.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from . import _config

__all__ = ["display_file", "is_app_module", "module_name", "reset_caches"]

_CACHE_LIMIT = 20_000
_app_cache: dict[str, bool] = {}
_file_cache: dict[tuple[str, str], str] = {}


def reset_caches() -> None:
    """Forget cached decisions (after `configure` changes the app packages)."""
    _app_cache.clear()
    _file_cache.clear()


_ERRUTIL = __name__.rpartition(".")[0]  # errutil's own frames are never the app's


def is_app_module(name: str, packages: tuple[str, ...] | None = None) -> bool:
    """True when module *name* is one of *packages* (default: the configured ones) or inside one.

    errutil's own modules are excluded: its middleware frame is not part of the story.
    """
    if packages is not None:
        if name == _ERRUTIL or name.startswith(_ERRUTIL + "."):
            return False
        return any(name == p or name.startswith(p + ".") for p in packages)
    cached = _app_cache.get(name)
    if cached is None:
        cached = is_app_module(name, _config.current().app_packages)
        if len(_app_cache) < _CACHE_LIMIT:
            _app_cache[name] = cached
    return cached


def module_name(f_globals: Mapping[str, object]) -> str:
    """The module a frame runs in; ``python -m pkg`` gives ``pkg.__main__``, not ``__main__``.

    A script run by path (``python main.py``) has no spec: its file's stem (``main``) names it,
    so a root module listed among the app packages is the app's whichever way it is started.
    """
    name = f_globals.get("__name__")
    if name == "__main__":
        spec_name = getattr(f_globals.get("__spec__"), "name", None)
        if isinstance(spec_name, str):
            return spec_name
        path = f_globals.get("__file__")
        if isinstance(path, str) and path.endswith(".py"):
            return os.path.basename(path)[:-3]
    return name if isinstance(name, str) else ""


def display_file(filename: str, module: str) -> str:
    """*filename* relative to the root its top-level package lives in, with ``/``.

    ``/srv/src/orders_service/repo.py`` in module ``orders_service.repo`` is shown as
    ``orders_service/repo.py``; ``/usr/lib/python3.11/json/decoder.py`` as ``json/decoder.py``.
    """
    key = (filename, module)
    shown = _file_cache.get(key)
    if shown is None:
        shown = _relative(filename, module)
        if len(_file_cache) < _CACHE_LIMIT:
            _file_cache[key] = shown
    return shown


def _relative(filename: str, module: str) -> str:
    if not filename or filename.startswith("<"):
        return filename or "<unknown>"
    parts = filename.replace(os.sep, "/").split("/")
    if module:
        names = module.split(".")
        stem = parts[-1].rpartition(".")[0]
        if stem == "__init__":
            names.append("__init__")
        count = len(names)
        if count <= len(parts) and stem == names[-1] and parts[-count:-1] == names[:-1]:
            return "/".join(parts[-count:])
    return _relative_to_sys_path(filename)


def _relative_to_sys_path(filename: str) -> str:
    best = ""
    for entry in sys.path:
        if entry and filename.startswith(entry.rstrip(os.sep) + os.sep) and len(entry) > len(best):
            best = entry.rstrip(os.sep)
    shown = filename[len(best) + 1 :] if best else os.path.basename(filename)
    return shown.replace(os.sep, "/")
