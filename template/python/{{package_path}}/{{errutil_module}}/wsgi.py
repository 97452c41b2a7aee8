"""`WSGIMiddleware`: `ErrorMiddleware`'s behaviour for WSGI apps (Flask, Django, bare callables).

One crash report per failed request, with ``http`` {method, path, status}. While the response
has not started, the client gets a 500 with ``{"error": "internal", "error_id": "..."}`` and
nothing else. Once part of it has gone out (a body chunk was handed to the server, or
``write()`` was called), a second response would be appended to the first and read as if
whole: the exception is re-raised instead, so the server drops the connection (a client sees
the missing bytes or chunks), and the server's own dump of it is filtered out of gunicorn's
and waitress's logs because the report was already logged. The app's iterable is always
closed (PEP 3333), crash or not. An exception errutil has reported already (inside Flask or
Django, which chose to re-raise it) is passed on as it is.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator

from .emit import log_exception
from .middleware import _REPORTED_MARK, ReportedFilter, _client_body

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    Environ = dict[str, Any]
    ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
    Write = Callable[[bytes], object]
    StartResponse = Callable[..., Write]
    WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

__all__ = ["WSGIMiddleware", "http_fields", "mark_reported"]

# Loggers of WSGI servers that log an exception escaping the app with exc_info.
_SERVER_LOGGERS = ("gunicorn.error", "waitress")
_STATUS = "500 Internal Server Error"


def http_fields(environ: Environ) -> dict[str, object]:
    """The report's ``http`` field for a WSGI request (the path without its query string)."""
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    return {"method": str(environ.get("REQUEST_METHOD", "")), "path": path, "status": 500}


def mark_reported(exc: BaseException, error_id: str) -> None:
    """Mark *exc* as reported: `ReportedFilter` then drops a framework's or server's dump of it."""
    # an exception type refusing attributes is logged by the server as well
    with contextlib.suppress(Exception):
        setattr(exc, _REPORTED_MARK, error_id)


def add_reported_filter(*logger_names: str) -> None:
    """Put one `ReportedFilter` on each named logger (once, however often this is called)."""
    for name in logger_names:
        target = logging.getLogger(name)
        if not any(isinstance(f, ReportedFilter) for f in target.filters):
            target.addFilter(ReportedFilter())


class WSGIMiddleware:
    """``application = WSGIMiddleware(application)``; any WSGI callable (a Flask app too)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        add_reported_filter(*_SERVER_LOGGERS)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        response = _Response(start_response)
        try:
            body = self.app(environ, response.start_response)
        except Exception as exc:
            if hasattr(exc, _REPORTED_MARK):
                raise  # reported inside the app (Flask, Django), which chose to pass it on
            error_id = log_exception(exc, origin="http", http=http_fields(environ)).error_id
            if not response.replace_with_internal_error(error_id):
                mark_reported(exc, error_id)
                raise
            return [_client_body(error_id).encode("ascii")]
        if isinstance(body, (list, tuple)):
            return body  # already whole: iterating it cannot fail, and it has no close()
        return _Body(body, environ, response)


class _Response:
    """The server's start_response, and whether any of the response has gone out."""

    def __init__(self, start_response: StartResponse) -> None:
        self._start_response = start_response
        self.written = False  # the app called write(): the headers are out

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Write:
        # exc_info only when given: a start_response written for two arguments (a test's, an
        # old server's) keeps working behind the middleware.
        if exc_info is None:
            write = self._start_response(status, headers)
        else:
            write = self._start_response(status, headers, exc_info)

        def tracking_write(data: bytes) -> object:
            self.written = True
            return write(data)

        return tracking_write

    def replace_with_internal_error(self, error_id: str) -> bool:
        """Start the 500 in place of the app's response; False if the headers are already out.

        Called while the app's exception is being handled: PEP 3333 has the server re-raise
        it from start_response when it has sent the headers already.
        """
        if self.written:
            return False
        body = _client_body(error_id).encode("ascii")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        try:
            self._start_response(_STATUS, headers, sys.exc_info())
        except Exception:
            return False
        return True


class _Body:
    """The app's iterable, passed through chunk by chunk; a crash in it is reported once."""

    def __init__(self, body: Iterable[bytes], environ: Environ, response: _Response) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._environ = environ
        self._response = response
        self._sent_any = False  # a chunk went to the server: the response has started
        self._done = False
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        try:
            if self._iterator is None:
                self._iterator = iter(self._body)
            chunk = next(self._iterator)
        except StopIteration:
            self._done = True
            raise
        except Exception as exc:
            self._done = True
            if hasattr(exc, _REPORTED_MARK):
                self.close()
                raise
            report = log_exception(exc, origin="http", http=http_fields(self._environ))
            self.close()  # the app's resources go now: the server may never call close()
            if self._sent_any or not self._response.replace_with_internal_error(report.error_id):
                mark_reported(exc, report.error_id)
                raise  # cut: the server drops the connection, the client sees it incomplete
            return _client_body(report.error_id).encode("ascii")
        self._sent_any = True
        return chunk

    def close(self) -> None:
        """Close the app's iterable once; a crash in its close() is reported, not raised."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self._body, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception as exc:  # the response is out already: a report is all that is left
            log_exception(exc, origin="http", http=http_fields(self._environ))
