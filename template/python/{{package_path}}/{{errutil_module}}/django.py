"""Django: `DjangoMiddleware`, one short report per crashed request, for WSGI and ASGI Django.

    MIDDLEWARE = ["<package>.errutil.DjangoMiddleware", ...]   # first: it sees every 500

Django, not the middleware, answers: its own 500 handling runs as before (``handler500`` with
``DEBUG=False``, the debug page with ``DEBUG=True``), and where ``handler500`` is Django's
default page the client gets ``{"error": "internal", "error_id": "..."}`` instead.

The report is written from Django's ``got_request_exception`` signal, not from a
``process_exception`` hook: Django sends it for exactly the exceptions it turns into a 500,
wherever they were raised (a view, a template, another middleware), after every
``process_exception`` hook declined. A hook would also see ``Http404`` and the like, and
exceptions another middleware's hook answers, which are not crashes, and would depend on
the middleware's place in the list. The ``django.request`` logger's "Internal Server Error"
traceback of a reported crash is dropped: the report replaces it. Django 4.2 or later.
"""

from __future__ import annotations

import contextlib
import importlib
import sys

from .emit import log_exception
from .middleware import _REPORTED_MARK, _client_body
from .wsgi import add_reported_filter, mark_reported

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

__all__ = ["DjangoMiddleware"]

_ERROR_ID = "errutil_error_id"  # the request attribute holding a reported crash's error_id


class DjangoMiddleware:
    """Django middleware (sync and async): crashes reported, Django's 500 handling kept."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        asgiref_sync = importlib.import_module("asgiref.sync")
        self._is_async: bool = asgiref_sync.iscoroutinefunction(get_response)
        if self._is_async:
            asgiref_sync.markcoroutinefunction(self)
        _connect_once()

    def __call__(self, request: Any) -> Any:
        if self._is_async:
            return self._call_async(request)
        return _finish(request, self.get_response(request))

    async def _call_async(self, request: Any) -> Any:
        awaitable: Awaitable[Any] = self.get_response(request)
        return _finish(request, await awaitable)


def _report(request: Any, exc: BaseException) -> str:
    """Log *exc* once (the first caller wins) and note its error_id on the request."""
    error_id = getattr(exc, _REPORTED_MARK, None)
    if not isinstance(error_id, str):
        http = {"method": str(request.method), "path": str(request.path), "status": 500}
        error_id = log_exception(exc, origin="http", http=http).error_id
        mark_reported(exc, error_id)
    with contextlib.suppress(Exception):
        setattr(request, _ERROR_ID, error_id)
    return error_id


def _on_request_exception(sender: object, request: Any = None, **kwargs: object) -> None:
    """Django's got_request_exception: sent inside the except block of its 500 handling."""
    exc = sys.exc_info()[1]
    if exc is not None and request is not None:
        with contextlib.suppress(Exception):  # a receiver's error would reach Django's caller
            _report(request, exc)


def _connect_once() -> None:
    signals = importlib.import_module("django.core.signals")
    signals.got_request_exception.connect(_on_request_exception, dispatch_uid=__name__)
    add_reported_filter("django.request")  # its "Internal Server Error: /x" traceback


def _finish(request: Any, response: Any) -> Any:
    """Django's default 500 page becomes the error-id body; any other answer stays as it is."""
    error_id = getattr(request, _ERROR_ID, None)
    if error_id is None or getattr(response, "status_code", None) != 500:
        return response
    with contextlib.suppress(Exception):  # errutil's fault: Django's own page goes out
        if _answered_by_default_handler(request) and not getattr(response, "streaming", False):
            body = _client_body(error_id).encode("ascii")
            response.content = body
            response["Content-Type"] = "application/json"
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(body))
    return response


def _answered_by_default_handler(request: Any) -> bool:
    settings = importlib.import_module("django.conf").settings
    if settings.DEBUG:  # the debug page is the developer's
        return False
    urls = importlib.import_module("django.urls")
    defaults = importlib.import_module("django.views.defaults")
    resolver = urls.get_resolver(getattr(request, "urlconf", None))
    return bool(resolver.resolve_error_handler(500) is defaults.server_error)
