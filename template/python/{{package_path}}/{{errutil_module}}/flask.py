"""Flask: ``errutil.init_flask(app)`` reports a crash in a request once, short, with its error_id.

Flask itself, not a middleware around it, decides what the client gets, so errutil hooks into
its two exception paths (imports Flask only when `init_flask` is called):

- ``handle_exception`` (no error handler took the exception): the report is logged, then
  Flask answers as it would: the app's own 500 / ``InternalServerError`` handler if it has
  one, else ``{"error": "internal", "error_id": "..."}`` in place of Flask's HTML page.
  Under ``PROPAGATE_EXCEPTIONS`` (debug, testing) Flask re-raises it, as before.
- ``handle_user_exception`` (an error handler of the app took it): the handler's response is
  kept; a crash is reported when that response is a 5xx. A 4xx answer is the app handling a
  failure it expects, and ``HTTPException`` (``abort(404)``) is never a crash.

A crash while a streamed body is sent (after Flask returned the response) is reported by
`WSGIMiddleware`, which `init_flask` puts around ``app.wsgi_app``, and the response is cut.

``app.logger``'s ``Exception on /x [GET]`` traceback, or one the app's own handler logs on
``app.logger`` during a request, becomes that one report: whatever handlers the app put on
its logger print no second, full traceback. An app's handler finds the id with `error_id_of`.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable

from .emit import log_exception
from .middleware import _REPORTED_MARK, _client_body
from .wsgi import WSGIMiddleware, mark_reported

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["error_id_of", "init_flask"]

_EXTENSION = "errutil"  # the key in app.extensions: init_flask runs once per app


def error_id_of(exc: BaseException) -> str | None:
    """The error_id errutil reported *exc* with, for an app's error handler to show.

    A 500 handler receives Flask's ``InternalServerError``: its ``original_exception`` is read.
    """
    for candidate in (exc, getattr(exc, "original_exception", None)):
        error_id = getattr(candidate, _REPORTED_MARK, None)
        if isinstance(error_id, str):
            return error_id
    return None


def init_flask(app: Any) -> Any:
    """Hook errutil into the Flask *app* (idempotent) and return it, for factories."""
    if _EXTENSION in app.extensions:
        return app
    flask = importlib.import_module("flask")
    exceptions = importlib.import_module("werkzeug.exceptions")
    http_exception: type[Exception] = exceptions.HTTPException
    internal_server_error: Callable[..., Exception] = exceptions.InternalServerError

    def report(exc: BaseException) -> str:
        """Log *exc* once (the first caller wins) and return its error_id; never raises."""
        error_id = getattr(exc, _REPORTED_MARK, None)
        if isinstance(error_id, str):
            return error_id
        try:
            request = flask.request
            http = {"method": str(request.method), "path": str(request.path), "status": 500}
        except Exception:  # outside a request, or a request errutil cannot read
            http = {"method": "", "path": "", "status": 500}
        error_id = log_exception(exc, origin="http", http=http).error_id
        mark_reported(exc, error_id)
        return error_id

    original_user_exception = app.handle_user_exception
    original_exception = app.handle_exception

    def handle_user_exception(exc: Exception) -> Any:
        answer = original_user_exception(exc)  # re-raises when no handler of the app takes it
        if isinstance(exc, http_exception):
            return answer
        try:
            response = app.make_response(answer)
        except Exception:  # Flask raises the same error again when it converts the answer
            return answer
        if response.status_code >= 500:
            report(exc)
        return response

    def handle_exception(exc: Exception) -> Any:
        own_handler = _has_own_handler(app, flask, internal_server_error(original_exception=exc))
        error_id = report(exc)
        response = original_exception(exc)  # re-raises under PROPAGATE_EXCEPTIONS
        if not own_handler:
            # the default page's body only: after_request hooks' headers and cookies stay
            with contextlib.suppress(Exception):  # errutil's fault: Flask's own page goes out
                response.set_data(_client_body(error_id))
                response.mimetype = "application/json"
        return response

    app.handle_user_exception = handle_user_exception
    app.handle_exception = handle_exception
    app.wsgi_app = WSGIMiddleware(app.wsgi_app)  # a streamed body's crash: reported, then cut
    app.logger.addFilter(_AppLoggerFilter(flask, http_exception, report))
    app.extensions[_EXTENSION] = True
    return app


def _has_own_handler(app: Any, flask: ModuleType, server_error: Exception) -> bool:
    """Whether the app (or the request's blueprints) handles Flask's 500 itself."""
    try:
        return app._find_error_handler(server_error, flask.request.blueprints) is not None
    except Exception:  # Flask changed: leave the app's own answer alone
        return True


class _AppLoggerFilter(logging.Filter):
    """On ``app.logger``: an exception logged during a request is errutil's report instead.

    Flask's own ``Exception on /x`` record (the exception was reported just before) is dropped;
    a traceback the app's handler logs first is reported there, and dropped.
    """

    def __init__(
        self,
        flask: ModuleType,
        http_exception: type[Exception],
        report: Callable[[BaseException], str],
    ) -> None:
        super().__init__()
        self._flask = flask
        self._http_exception = http_exception
        self._report = report

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        if hasattr(exc, _REPORTED_MARK):
            return False
        try:
            if isinstance(exc, self._http_exception) or not self._flask.has_request_context():
                return True
            self._report(exc)
        except Exception:  # errutil's fault: the app's own record is printed as it was
            return True
        return False
