"""DjangoMiddleware: one short report per crash; Django's 500 handling answers, as before."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from ._subject import ERRUTIL, errutil
from .appcode import api, repo
from .conftest import LoggedReports
from .helpers import shown
from .test_wsgi import serve

django = pytest.importorskip("django")
conf = pytest.importorskip("django.conf")
djhttp = pytest.importorskip("django.http")
exceptions = pytest.importorskip("django.core.exceptions")
django_test = pytest.importorskip("django.test")
urls = pytest.importorskip("django.urls")

ERRUTIL_MIDDLEWARE = f"{ERRUTIL}.DjangoMiddleware"


def crash_view(request: Any) -> Any:
    return djhttp.JsonResponse(api.crash_sync())


def not_found_view(request: Any) -> Any:
    raise djhttp.Http404("no such order")


def forbidden_view(request: Any) -> Any:
    raise exceptions.PermissionDenied


def ok_view(request: Any) -> Any:
    return djhttp.JsonResponse({"status": "ok"})


def stream_view(request: Any) -> Any:
    return djhttp.StreamingHttpResponse(line.encode() for line in api.lines())


class CrashingMiddleware:
    """A middleware of the app that crashes on one path: Django answers 500 around it."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path == "/crash/middleware":
            api.crash_sync()
        return self.get_response(request)


class AnsweringMiddleware:
    """A middleware of the app whose process_exception answers the KeyError itself."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        return self.get_response(request)

    def process_exception(self, request: Any, exception: Exception) -> Any:
        if isinstance(exception, KeyError):
            return djhttp.JsonResponse({"error": "conflict"}, status=409)
        return None


class DefaultUrls:
    """A urlconf with Django's default handler500."""

    urlpatterns: ClassVar[list[Any]] = [
        urls.path("crash/sync", crash_view),
        urls.path("missing", not_found_view),
        urls.path("forbidden", forbidden_view),
        urls.path("ok", ok_view),
        urls.path("crash/middleware", ok_view),
        urls.path("stream", stream_view),
    ]


def own_500(request: Any) -> Any:
    return djhttp.JsonResponse({"message": "sorry"}, status=500)


class OwnHandlerUrls:
    """A urlconf with the app's own handler500."""

    urlpatterns = DefaultUrls.urlpatterns
    handler500 = own_500


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module", autouse=True)
def _django_ready() -> None:
    """Settings of the repository's own, or minimal ones; then Django's set-up."""
    if not conf.settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        conf.settings.configure(SECRET_KEY="errutil-tests", INSTALLED_APPS=[], DATABASES={})
    django.setup()


@pytest.fixture
def django_request_log() -> Iterator[Collect]:
    """What reaches the django.request logger (its "Internal Server Error" traceback)."""
    collect = Collect()
    logger = logging.getLogger("django.request")
    logger.addHandler(collect)
    try:
        yield collect
    finally:
        logger.removeHandler(collect)


def site(
    urlconf: type = DefaultUrls, *, debug: bool = False, middleware: tuple[str, ...] = ()
) -> Any:
    """Settings for one test: errutil's middleware first, DEBUG=False unless asked."""
    return django_test.override_settings(
        DEBUG=debug,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=urlconf,
        MIDDLEWARE=[ERRUTIL_MIDDLEWARE, *middleware],
    )


def assert_short_report_of_the_crash(report: errutil.CrashReport, path: str) -> None:
    assert report.origin == "http"
    assert report.http == {"method": "GET", "path": path, "status": 500}
    lines = report.text().splitlines()
    assert len(lines) <= 6
    assert report.error.frames[0].file == shown(repo)
    assert "in load_order" in lines[1]


def test_with_the_default_handler500_the_client_gets_the_error_id(
    logged: LoggedReports, django_request_log: Collect
) -> None:
    with site():
        response = django_test.Client(raise_request_exception=False).get("/crash/sync?token=s3")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    [report] = logged()
    assert json.loads(response.content) == {"error": "internal", "error_id": report.error_id}
    assert_short_report_of_the_crash(report, "/crash/sync")
    assert "s3" not in str(report.to_dict())
    assert django_request_log.records == []  # no second, full traceback


def test_the_apps_handler500_answers_and_the_crash_is_reported_once(
    logged: LoggedReports, django_request_log: Collect
) -> None:
    with site(OwnHandlerUrls):
        response = django_test.Client(raise_request_exception=False).get("/crash/sync")
    assert response.status_code == 500
    assert json.loads(response.content) == {"message": "sorry"}
    [report] = logged()
    assert_short_report_of_the_crash(report, "/crash/sync")
    assert django_request_log.records == []


def test_a_crash_in_another_middleware_is_reported_from_djangos_signal(
    logged: LoggedReports, django_request_log: Collect
) -> None:
    with site(middleware=(f"{__name__}.CrashingMiddleware",)):
        response = django_test.Client(raise_request_exception=False).get("/crash/middleware")
    assert response.status_code == 500
    [report] = logged()
    assert json.loads(response.content) == {"error": "internal", "error_id": report.error_id}
    assert_short_report_of_the_crash(report, "/crash/middleware")
    assert django_request_log.records == []


def test_djangos_4xx_exceptions_and_good_requests_are_not_crashes(logged: LoggedReports) -> None:
    with site():
        client = django_test.Client(raise_request_exception=False)
        assert client.get("/missing").status_code == 404
        assert client.get("/forbidden").status_code == 403
        assert json.loads(client.get("/ok").content) == {"status": "ok"}
    assert logged() == []


@pytest.mark.parametrize("errutil_first", [True, False])
def test_a_crash_another_middleware_answers_is_not_reported(
    errutil_first: bool, logged: LoggedReports
) -> None:
    answering = f"{__name__}.AnsweringMiddleware"
    order = [ERRUTIL_MIDDLEWARE, answering] if errutil_first else [answering, ERRUTIL_MIDDLEWARE]
    with site(), django_test.override_settings(MIDDLEWARE=order):
        response = django_test.Client(raise_request_exception=False).get("/crash/sync")
    assert response.status_code == 409
    assert logged() == []


def test_with_debug_the_debug_page_answers_and_the_crash_is_reported_once(
    logged: LoggedReports,
) -> None:
    with site(debug=True):
        response = django_test.Client(raise_request_exception=False).get("/crash/sync")
    assert response.status_code == 500
    [report] = logged()
    assert report.error_id not in response.content.decode()  # Django's page for the developer
    assert_short_report_of_the_crash(report, "/crash/sync")


@pytest.mark.parametrize("urlconf", [DefaultUrls, OwnHandlerUrls])
def test_asgi_django_reports_once_and_answers_the_same_way(
    urlconf: type, logged: LoggedReports, django_request_log: Collect
) -> None:
    with site(urlconf):
        client = django_test.AsyncClient(raise_request_exception=False)
        response = asyncio.run(client.get("/crash/sync"))
    assert response.status_code == 500
    [report] = logged()
    expected = {"message": "sorry"} if urlconf is OwnHandlerUrls else None
    assert json.loads(response.content) == (
        expected or {"error": "internal", "error_id": report.error_id}
    )
    assert_short_report_of_the_crash(report, "/crash/sync")
    assert django_request_log.records == []


def test_wsgi_django_in_wsgi_middleware_cuts_a_stream_that_crashed(logged: LoggedReports) -> None:
    """wsgi.py: ``application = errutil.WSGIMiddleware(get_wsgi_application())``."""
    handlers = pytest.importorskip("django.core.handlers.wsgi")
    with site(), serve(errutil.WSGIMiddleware(handlers.WSGIHandler()), server="werkzeug") as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/stream")
        response = connection.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead) as cut:
            response.read()
        connection.close()
    assert cut.value.partial == b"first line\n"
    [report] = logged()
    assert report.http == {"method": "GET", "path": "/stream", "status": 500}
    assert report.error.frames[0].file == shown(repo)
