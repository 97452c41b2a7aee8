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
import sys
from collections.abc import Awaitable, Callable, MutableMapping

from .emit import log_exception

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from typing import Any

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["ErrorMiddleware", "ReportedFilter"]

_REPORTED_MARK = "__errutil_error_id__"


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
            http = {"method": scope.get("method", ""), "path": scope.get("path", ""), "status": 500}
            report = log_exception(exc, origin="http", http=http)
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
            http = {"method": "GET", "path": scope.get("path", ""), "status": 500}
            report = log_exception(exc, origin="http", http=http)
            if not closed:
                await _send_close(send, report.error_id)


def _client_body(error_id: str) -> str:
    """All a client learns of a crash: that it was internal, and the id to quote."""
    return '{"error":"internal","error_id":"' + error_id + '"}'


async def _send_internal_error(send: Send, error_id: str) -> None:
    body = _client_body(error_id).encode("ascii")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
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
