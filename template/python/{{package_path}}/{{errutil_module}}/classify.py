"""Which frames are the app's, and how a frame's file is shown.

A frame belongs to the app when its module name is one of the app packages or inside
one (``name == p or name.startswith(p + ".")``): never a bare path-prefix match, so
``click`` does not swallow ``click_plugins``. Results are cached per module name and
per file, which is what keeps a walk over a deep framework stack cheap.

This module depends on no other part of errutil: the app packages are passed in, and the
decisions are cached for one tuple of packages at a time (a new tuple, after `configure`,
starts a new cache), so configuration never has to reach down here to clear anything.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = [
    "app_decisions",
    "decide_app",
    "display_file",
    "is_app_module",
    "module_name",
    "reset_caches",
]

_CACHE_LIMIT = 20_000
# The packages the decisions were made for, and the decisions (module name -> is the app's).
_app_cache: tuple[tuple[str, ...], dict[str, bool]] = ((), {})
_file_cache: dict[tuple[str, str], str] = {}


def reset_caches() -> None:
    """Forget every cached decision and file name."""
    global _app_cache  # noqa: PLW0603 - replaced whole, see app_decisions
    _app_cache = ((), {})
    _file_cache.clear()


_ERRUTIL = __name__.rpartition(".")[0]  # errutil's own frames are never the app's


def is_app_module(name: str, packages: tuple[str, ...]) -> bool:
    """True when module *name* is one of *packages* or inside one.

    errutil's own modules are excluded: its middleware frame is not part of the story.
    """
    if name == _ERRUTIL or name.startswith(_ERRUTIL + "."):
        return False
    return any(name == p or name.startswith(p + ".") for p in packages)


def app_decisions(packages: tuple[str, ...]) -> dict[str, bool]:
    """The cache of `is_app_module` answers for *packages*: module name -> is the app's.

    A walk reads it directly (one dict lookup per frame) and fills it with `decide_app`.
    Another tuple of packages than last time gets a new dict, never the old one emptied: a
    walk in another thread may still be filling that one for its own packages.
    """
    global _app_cache  # noqa: PLW0603 - one cache, for the packages last asked about
    cached_for, cache = _app_cache
    if packages is not cached_for and packages != cached_for:
        cache = {}
        _app_cache = (packages, cache)
    return cache


def decide_app(name: str, packages: tuple[str, ...], cache: dict[str, bool]) -> bool:
    """`is_app_module`, remembered in *cache* (from `app_decisions`), which stays bounded.

    ``__main__`` is never remembered: a walk looks a frame's ``__name__`` up in the cache
    before anything else, and a ``__main__`` frame must first be named by `module_name`.
    """
    decided = is_app_module(name, packages)
    if len(cache) < _CACHE_LIMIT and name != "__main__":
        cache[name] = decided
    return decided


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
