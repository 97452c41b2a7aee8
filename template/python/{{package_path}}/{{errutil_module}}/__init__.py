"""errutil: short crash reports that show the service's own frames and hide the rest.

    from <package> import errutil
    errutil.install()                    # main, threads, asyncio tasks, unraisable
    report = errutil.capture(exc)        # CrashReport; .to_dict() / .text()
    errutil.format_exception(exc)        # the short text form
    errutil.guard                        # decorator / context manager: log, swallow or re-raise
    app.add_middleware(errutil.ErrorMiddleware)          # ASGI (FastAPI, Starlette)
    application = errutil.WSGIMiddleware(application)    # WSGI
    errutil.init_flask(app)                              # Flask
    MIDDLEWARE = ["<package>.errutil.DjangoMiddleware", ...]   # Django (first)

Standard library only; adapters for structlog, stdlib logging, loguru and Prometheus
import their library when called (`errutil.adapters`), and so do the Flask and Django
integrations. errutil never raises while reporting: on an internal fault it falls back to
the standard traceback.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 9):  # noqa: UP036 - errutil also runs in repositories on older Pythons
    from ._config import Config, configure
    from ._types import CrashReport, ErrorInfo, Frame
    from .django import DjangoMiddleware
    from .emit import add_listener, log_exception, log_report, remove_listener
    from .flask import init_flask
    from .guard import Guard, guard
    from .hooks import install, installed, uninstall
    from .middleware import ErrorMiddleware
    from .report import capture
    from .wsgi import WSGIMiddleware
else:  # Python 3.8: importable, every call a no-op (see _unsupported.py)
    from ._unsupported import (
        DjangoMiddleware,
        ErrorMiddleware,
        WSGIMiddleware,
        capture,
        configure,
        format_exception,
        guard,
        init_flask,
        install,
        installed,
        log_exception,
        uninstall,
    )

__all__ = [
    "Config",
    "CrashReport",
    "DjangoMiddleware",
    "ErrorInfo",
    "ErrorMiddleware",
    "Frame",
    "Guard",
    "WSGIMiddleware",
    "add_listener",
    "capture",
    "configure",
    "format_exception",
    "guard",
    "init_flask",
    "install",
    "installed",
    "log_exception",
    "log_report",
    "remove_listener",
    "uninstall",
]


if sys.version_info >= (3, 9):  # noqa: UP036 - errutil also runs in repositories on older Pythons

    def format_exception(exc: BaseException) -> str:
        """The short text form of *exc* (what the log shows); never raises for a real exception."""
        return capture(exc).text()
