"""`RequestMiddleware`: a request id, one structured access line and the request metrics.

Pure ASGI, outside errutil's middleware, so the crash's 500 passes through it as well:

- request id: the client's ``X-Request-ID`` when it is at most 128 characters of
  ``[A-Za-z0-9._-]``, else a new one; sent back on every response, bound to every log line of
  the request (structlog contextvars) and passed down in the scope's headers, where errutil
  finds it for the crash report's ``request_id``.
- access log: one ``event=access`` line per request with ``method``, ``route`` (the route
  template, never the raw path nor the query string), ``status``, ``duration_ms``,
  ``request_id`` and the trace ids when OpenTelemetry is on. It replaces uvicorn's text line.
- metrics: ``http_requests_total{method,route,status}`` and
  ``http_request_duration_seconds{method,route}`` (metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from . import metrics
from .errutil.ids import new_error_id
from .errutil.middleware import request_id_of
from .errutil.otel import trace_ids

__all__ = ["QUIET_ROUTES", "RequestMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HEADER = b"x-request-id"
# Methods outside this set are counted as _OTHER (OpenTelemetry's rule): a client sending
# made-up methods must not add metric series.
_METHODS = frozenset(
    ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE")
)
UNMATCHED = "unmatched"
# Probes and scrapes: logged at DEBUG only, or they would fill the log.
QUIET_ROUTES = frozenset(("/healthz", "/readyz", "/metrics"))


def _request_id(scope: Scope) -> str:
    """The request's own id when it is a safe one (errutil's check, so the crash report holds
    the same id), else a new one (a UUIDv7: sorts by time)."""
    return request_id_of(scope) or new_error_id()


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestMiddleware:
    """``app.add_middleware(RequestMiddleware)`` after errutil's, so it wraps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        headers = [(k, v) for k, v in scope.get("headers") or () if k.lower() != _HEADER]
        headers.append((_HEADER, request_id.encode("ascii")))
        scope["headers"] = headers
        status = 500  # what the client sees if the app fails before it answers
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                out = [(k, v) for k, v in message.get("headers") or () if k.lower() != _HEADER]
                out.append((_HEADER, request_id.encode("ascii")))
                message["headers"] = out
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._finish(scope, status, time.perf_counter() - started, request_id)

    @staticmethod
    def _finish(scope: Scope, status: int, seconds: float, request_id: str) -> None:
        method = str(scope.get("method", ""))
        method = method if method in _METHODS else "_OTHER"
        route = _route_of(scope)
        metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
        metrics.HTTP_DURATION.labels(method, route).observe(seconds)
        fields: dict[str, object] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
            **trace_ids(),
        }
        # Looked up per request: a logger cached before logging was configured would bypass it.
        log = structlog.stdlib.get_logger("access")
        if route in QUIET_ROUTES:
            log.debug("access", **fields)
        else:
            log.info("access", **fields)
