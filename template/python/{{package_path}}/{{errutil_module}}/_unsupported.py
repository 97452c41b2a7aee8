"""errutil on Python 3.8 and older: importable, and out of the way.

errutil needs Python 3.9 or newer. A repository it was added to may still support an older
Python; there, importing errutil must not break the program, so every name the wiring uses is
here and does nothing (crashes keep Python's own traceback). Written for Python 3.8 syntax.
"""

from __future__ import annotations

import logging
import traceback

SUPPORTED = False


def install() -> None:
    """Nothing to install: Python's own hooks stay in place."""


def uninstall() -> None:
    """Nothing was installed."""


def installed() -> bool:
    return False


def configure(**settings: object) -> None:
    """Settings are accepted and ignored."""


def init_flask(app: object) -> object:
    return app


def log_exception(exc: BaseException, **context: object) -> None:
    """The standard traceback, through the same logger errutil uses."""
    logging.getLogger("errutil").error("%s", format_exception(exc).rstrip("\n"), exc_info=False)


def format_exception(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def capture(exc: BaseException, **context: object) -> object:
    raise RuntimeError("errutil needs Python 3.9 or newer")


class _PassThrough:
    """A middleware that hands every call to the app it wraps."""

    def __init__(self, app: object = None, *args: object, **kwargs: object) -> None:
        self.app = app

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self.app(*args, **kwargs)  # type: ignore[operator]


class ErrorMiddleware(_PassThrough):
    """ASGI: the app as it is."""


class WSGIMiddleware(_PassThrough):
    """WSGI: the app as it is."""


class DjangoMiddleware(_PassThrough):
    """Django: the next handler as it is."""


class _Guard:
    def __call__(self, function: object) -> object:
        return function

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


def guard(*args: object, **kwargs: object) -> object:
    """Decorator or context manager that lets every exception through."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return _Guard()
