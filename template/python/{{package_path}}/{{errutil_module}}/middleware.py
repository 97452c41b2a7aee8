"""`ErrorMiddleware`: pure ASGI; one crash report per failed request, a bare 500 for the client.

The client gets ``{"error": "internal", "error_id": "..."}``: the id is in the log line,
nothing else (no stack, path or message) leaves the service. When the response had
already started, no second response is sent: the exception is re-raised for the server
to close the connection, and uvicorn's "Exception in ASGI application" dump of it is
filtered out because the report was already logged.

A WebSocket handler that crashes is reported the same way; the socket is closed with code
1011 (internal error) and that JSON body as the reason.

Any ``BaseException`` a route raises is such a crash (a ``SystemExit`` or a custom
``BaseException`` subclass too: the client still gets the error id), except cancellation
and interrupts (``asyncio.CancelledError``, ``KeyboardInterrupt``, ``GeneratorExit``), which
pass through.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Awaitable, Callable, MutableMapping

from .emit import log_exception
from .otel import record_crash

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from typing import Any

    from ._types import CrashReport

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["ErrorMiddleware", "ReportedFilter", "request_id_of"]

_REPORTED_MARK = "__errutil_error_id__"

# What a request id may be (the service's request-id middleware enforces the same rule):
# anything else would let a client write arbitrary text into the log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_of(scope: Scope) -> str | None:
    """The request's valid ``X-Request-ID`` header, if it has one."""
    try:
        for name, value in scope.get("headers") or ():
            if name.lower() == b"x-request-id":
                text = value.decode("latin-1")
                return text if _REQUEST_ID.fullmatch(text) else None
    except Exception:  # a malformed scope must not cost the report
        return None
    return None


def _report(exc: BaseException, scope: Scope, method: str) -> CrashReport:
    """Log the crash of a request (or socket) as one report, and record it on its span."""
    http = {"method": method, "path": scope.get("path", ""), "status": 500}
    request_id = request_id_of(scope)
    context = {"request_id": request_id} if request_id is not None else None
    report = log_exception(exc, origin="http", http=http, context=context)
    record_crash(report, exc, scope)
    return report


def _passes_through(exc: BaseException) -> bool:
    """Cancellation and interrupts are not crashes. asyncio and trio are looked up, not
    imported: if a library is not loaded, its cancellation cannot be what was raised."""
    if isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
        return True
    for module, name in (("asyncio", "CancelledError"), ("trio", "Cancelled")):
        cancelled = getattr(sys.modules.get(module), name, None)
        if isinstance(cancelled, type) and isinstance(exc, cancelled):
            return True
    return False


_SERVER_LOGGERS = ("uvicorn.error", "hypercorn.error")


class ReportedFilter(logging.Filter):
    """Drops a server's traceback dump of an exception errutil has already reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or not hasattr(exc, _REPORTED_MARK)


class ErrorMiddleware:
    """``app.add_middleware(ErrorMiddleware)`` or ``ErrorMiddleware(app)``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        for name in _SERVER_LOGGERS:
            server_logger = logging.getLogger(name)
            if not any(isinstance(f, ReportedFilter) for f in server_logger.filters):
                server_logger.addFilter(ReportedFilter())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking_start)
        except BaseException as exc:
            if _passes_through(exc):
                raise
            report = _report(exc, scope, scope.get("method", ""))
            if started:
                # an exception type refusing attributes is logged by uvicorn as well
                with contextlib.suppress(Exception):
                    setattr(exc, _REPORTED_MARK, report.error_id)
                raise
            await _send_internal_error(send, report.error_id)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A crash in a WebSocket handler: one report, then close code 1011 (internal error)
        with the error id as the reason, unless the socket was already closed."""
        closed = False

        async def send_tracking_close(message: Message) -> None:
            nonlocal closed
            if message["type"] in ("websocket.close", "websocket.http.response.start"):
                closed = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking_close)
        except BaseException as exc:
            if _passes_through(exc):
                raise
            report = _report(exc, scope, "GET")  # a WebSocket opens with a GET
            if not closed:
                await _send_close(send, report.error_id)


def _client_body(error_id: str) -> str:
    """All a client learns of a crash: that it was internal, and the id to quote."""
    return '{"error":"internal","error_id":"' + error_id + '"}'


# The 500's bytes, built once; the headers list is new per response (a middleware above
# may append to it), its items are immutable tuples and can be shared.
_BODY_HEAD = b'{"error":"internal","error_id":"'
_BODY_TAIL = b'"}'
_JSON_TYPE = (b"content-type", b"application/json")


async def _send_internal_error(send: Send, error_id: str) -> None:
    body = _BODY_HEAD + error_id.encode("ascii") + _BODY_TAIL
    headers = [_JSON_TYPE, (b"content-length", b"%d" % len(body))]
    try:
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    except Exception:  # the client went away: the report is logged, nothing more to do
        pass


async def _send_close(send: Send, error_id: str) -> None:
    # 1011: the server met an unexpected condition (RFC 6455). Before the handshake was
    # accepted the server refuses the connection instead (uvicorn answers 403).
    message = {"type": "websocket.close", "code": 1011, "reason": _client_body(error_id)}
    with contextlib.suppress(Exception):  # the client went away: the report is logged
        await send(message)
