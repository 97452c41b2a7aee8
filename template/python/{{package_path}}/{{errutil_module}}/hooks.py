"""Process-wide hooks: every way a Python process can lose an exception ends in one report.

`install` sets ``sys.excepthook`` (origin main), ``threading.excepthook`` (thread),
``sys.unraisablehook`` (unraisable) and the default exception handler of every asyncio
event loop, present or future (task). It keeps the hooks that were there: a hook that is
not the interpreter's default is still called after the report (chaining); the default
one is called instead of a report for what errutil leaves alone (KeyboardInterrupt,
SystemExit) and when errutil fails. `uninstall` puts the previous hooks back.

Repeat counts not yet summarised are logged at exit and on SIGTERM: a process stopped by
SIGTERM (Kubernetes stops pods so; uvicorn re-raises it after its shutdown) never runs
atexit, so install() chains a SIGTERM handler that flushes, then does what the handler
before it did (by default: end the process by the signal).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from types import TracebackType

from . import _config
from .emit import flush_repeats, log_exception, stdlib_fallback

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    import asyncio
    from typing import Any

__all__ = ["install", "installed", "uninstall"]

_PASS_THROUGH = (KeyboardInterrupt, SystemExit)


# The interpreter's own thread hook: `threading.__excepthook__` from Python 3.10; before that,
# the hook in place when errutil is imported (the default, unless someone replaced it).
_THREADING_DEFAULT: Callable[..., Any] = getattr(threading, "__excepthook__", threading.excepthook)


class _State:
    """What install() replaced, so hooks can chain to it and uninstall() can restore it."""

    def __init__(self) -> None:
        self.active = False
        self.atexit_registered = False
        self.previous_excepthook: Callable[..., Any] = sys.__excepthook__
        self.previous_threading_hook: Callable[..., Any] = _THREADING_DEFAULT
        self.previous_unraisablehook: Callable[..., Any] = sys.__unraisablehook__
        self.previous_sigterm: Any = None  # what signal.getsignal gave; None: not installed
        # (loop class, original default_exception_handler, whether the class defined it)
        self.patched_loops: list[tuple[type, Callable[..., Any], bool]] = []


_state = _State()


def installed() -> bool:
    return _state.active


def install() -> None:
    """Install every hook; calling it again does nothing."""
    if _state.active:
        return
    _state.previous_excepthook = sys.excepthook
    _state.previous_threading_hook = threading.excepthook
    _state.previous_unraisablehook = sys.unraisablehook
    sys.excepthook = _excepthook
    threading.excepthook = _threading_excepthook
    sys.unraisablehook = _unraisablehook
    _state.patched_loops = [
        (
            cls,
            getattr(cls, "default_exception_handler"),  # noqa: B009 - `type` has no such attribute
            "default_exception_handler" in cls.__dict__,
        )
        for cls in _loop_classes()
    ]
    for cls, _, _ in _state.patched_loops:
        cls.default_exception_handler = _loop_exception_handler  # type: ignore[attr-defined]
    if not _state.atexit_registered:
        atexit.register(flush_repeats)
        _state.atexit_registered = True
    _install_sigterm()
    _state.active = True


def uninstall() -> None:
    """Restore the hooks found by `install`; hooks installed over ours since are left in place."""
    if not _state.active:
        return
    _state.active = False
    if sys.excepthook is _excepthook:
        sys.excepthook = _state.previous_excepthook
    if threading.excepthook is _threading_excepthook:
        threading.excepthook = _state.previous_threading_hook
    if sys.unraisablehook is _unraisablehook:
        sys.unraisablehook = _state.previous_unraisablehook
    if _state.previous_sigterm is not None:
        import signal  # noqa: PLC0415 - imported by install()

        with contextlib.suppress(ValueError, OSError):  # not the main thread: leave it
            if signal.getsignal(signal.SIGTERM) is _on_sigterm:
                signal.signal(signal.SIGTERM, _state.previous_sigterm)
        _state.previous_sigterm = None
    for cls, original, own in _state.patched_loops:
        if cls.__dict__.get("default_exception_handler") is _loop_exception_handler:
            if own:
                cls.default_exception_handler = original  # type: ignore[attr-defined]
            else:
                del cls.default_exception_handler  # type: ignore[attr-defined]
    _state.patched_loops = []


def _install_sigterm() -> None:
    """Chain a SIGTERM handler (only the main thread may; elsewhere atexit still flushes)."""
    if threading.current_thread() is not threading.main_thread():
        return
    import signal  # noqa: PLC0415 - ~0.7 ms of import time: only at install()

    try:
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # no SIGTERM here, or not allowed
        return
    _state.previous_sigterm = signal.SIG_DFL if previous is None else previous


def _on_sigterm(signum: int, frame: Any) -> None:
    """Flush the repeat counts, then hand the signal on as if errutil were not there."""
    import signal  # noqa: PLC0415 - loaded by install() already

    with contextlib.suppress(Exception):
        flush_repeats()
    previous = _state.previous_sigterm
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:  # the default: end the process by this signal
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _loop_classes() -> list[type]:
    """asyncio's base loop (every stdlib loop inherits it) and uvloop's, when installed."""
    import asyncio  # noqa: PLC0415 - asyncio costs ~70 ms to import: only at install()
    import importlib  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    classes: list[type] = [asyncio.BaseEventLoop]
    try:
        if "uvloop" in sys.modules or importlib.util.find_spec("uvloop") is not None:
            uvloop_loop = importlib.import_module("uvloop").Loop
            if hasattr(uvloop_loop, "default_exception_handler"):
                classes.append(uvloop_loop)
    except Exception:  # uvloop broken or absent: asyncio's loops are still covered
        pass
    return classes


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    previous = _state.previous_excepthook
    if (
        not _state.active
        or issubclass(exc_type, _PASS_THROUGH)
        or not isinstance(exc, BaseException)
    ):
        previous(exc_type, exc, tb)
        return
    try:
        if exc.__traceback__ is None and tb is not None:
            exc = exc.with_traceback(tb)
        log_exception(exc, origin="main", fatal=True)  # it ends the process: always in full
    except BaseException:  # the hook must never fail: use the interpreter's output
        stdlib_fallback(exc)
        return
    _chain(previous, sys.__excepthook__, exc_type, exc, tb)


def _threading_excepthook(args: threading.ExceptHookArgs) -> None:
    previous = _state.previous_threading_hook
    exc = args.exc_value
    if not _state.active or exc is None or isinstance(exc, _PASS_THROUGH):
        previous(args)
        return
    try:
        name = args.thread.name if args.thread is not None else "unknown"
        log_exception(exc, origin="thread", context={"thread": name})
    except BaseException:
        _THREADING_DEFAULT(args)
        return
    _chain(previous, _THREADING_DEFAULT, args)


def _unraisablehook(unraisable: Any) -> None:
    previous = _state.previous_unraisablehook
    exc = getattr(unraisable, "exc_value", None)
    if not _state.active or not isinstance(exc, Exception):
        previous(unraisable)
        return
    try:
        where = f"{unraisable.err_msg or 'Exception ignored in'}: {_safe_repr(unraisable.object)}"
        where = _config.current().redactor(where)  # an object's repr may hold a secret
        log_exception(exc, origin="unraisable", context={"ignored_in": where})
    except BaseException:
        sys.__unraisablehook__(unraisable)
        return
    _chain(previous, sys.__unraisablehook__, unraisable)


def _loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Replaces ``default_exception_handler``: loops with their own handler keep it."""
    original = _original_handler(type(loop))
    exc = context.get("exception")
    if not _state.active or not isinstance(exc, BaseException) or isinstance(exc, _PASS_THROUGH):
        original(loop, context)
        return
    try:
        task = context.get("task") or context.get("future")
        get_name = getattr(task, "get_name", None)
        name = get_name() if callable(get_name) else None
        log_exception(exc, origin="task", context={"task": str(name)} if name else None)
    except BaseException:
        original(loop, context)


def _original_handler(loop_type: type) -> Callable[..., Any]:
    for cls, original, _ in _state.patched_loops:
        if issubclass(loop_type, cls):
            return original
    import asyncio  # noqa: PLC0415 - already imported: a loop called us

    return asyncio.BaseEventLoop.default_exception_handler  # uninstalled meanwhile


def _chain(previous: Callable[..., Any], default: Callable[..., Any], *args: Any) -> None:
    """Call a hook someone installed before us (Sentry, a debugger); never the noisy default."""
    if previous is default:
        return
    with contextlib.suppress(Exception):
        previous(*args)


def _safe_repr(value: object, limit: int = 200) -> str:
    try:
        text = repr(value)
    except BaseException:  # hostile __repr__
        return f"<{type(value).__name__} object (repr failed)>"
    return text if len(text) <= limit else text[:limit] + "..."
