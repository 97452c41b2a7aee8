"""init_flask: a crash is reported once, short; the app's own error handlers keep answering."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ._subject import error_id_of, errutil
from .appcode import api, repo
from .conftest import LoggedReports
from .helpers import shown

flask = pytest.importorskip("flask")
exceptions = pytest.importorskip("werkzeug.exceptions")


class Collect(logging.Handler):
    """A handler an app put on its logger: keeps what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def make_app(name: str = "shop") -> Any:
    """A Flask app whose routes are the test app's functions (their frames are the app's)."""
    app = flask.Flask(name)
    app.add_url_rule("/crash/sync", view_func=api.crash_sync)
    app.add_url_rule("/crash/library", view_func=api.crash_library)

    def missing() -> str:
        flask.abort(404)
        return ""

    def stream() -> Any:
        return flask.Response(api.lines(), mimetype="text/plain")

    def ok() -> dict[str, str]:
        return {"status": "ok"}

    # flask's own decorators, called plainly: mypy sees flask as Any (it may be absent)
    app.add_url_rule("/missing", view_func=missing)
    app.add_url_rule("/stream", view_func=stream)
    app.add_url_rule("/ok", view_func=ok)
    return app


@pytest.fixture
def app_logger_output() -> Iterator[tuple[Collect, io.StringIO]]:
    """Two handlers on the app's logger, as an app with its own logging set-up has."""
    stream = io.StringIO()
    collect = Collect()
    logger = logging.getLogger("shop")
    logger.addHandler(logging.StreamHandler(stream))
    logger.addHandler(collect)
    saved = logger.handlers[:-2], logger.filters[:]
    try:
        yield collect, stream
    finally:
        logger.handlers = saved[0]
        logger.filters = saved[1]


def assert_short_report_of_the_crash(report: errutil.CrashReport, path: str) -> None:
    assert report.origin == "http"
    assert report.http == {"method": "GET", "path": path, "status": 500}
    lines = report.text().splitlines()
    assert len(lines) <= 6
    assert report.error.frames[0].file == shown(repo)
    assert "in load_order" in lines[1]


@pytest.mark.parametrize("route", ["/crash/sync", "/crash/library"])
def test_without_a_handler_of_its_own_the_client_gets_the_error_id(
    route: str, logged: LoggedReports, app_logger_output: tuple[Collect, io.StringIO]
) -> None:
    app = errutil.init_flask(make_app())
    response = app.test_client().get(route + "?token=secret")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    [report] = logged()
    assert json.loads(response.data) == {"error": "internal", "error_id": report.error_id}
    assert report.http == {"method": "GET", "path": route, "status": 500}
    assert "secret" not in str(report.to_dict())
    assert len(report.text().splitlines()) <= 6
    collect, stream = app_logger_output
    assert collect.records == []  # Flask's "Exception on /crash/sync [GET]" traceback: not again
    assert stream.getvalue() == ""


def test_the_report_names_the_raise_site(logged: LoggedReports) -> None:
    app = errutil.init_flask(make_app())
    app.test_client().get("/crash/sync")
    [report] = logged()
    assert_short_report_of_the_crash(report, "/crash/sync")


def test_the_apps_500_handler_answers_and_the_crash_is_reported_once(
    logged: LoggedReports, app_logger_output: tuple[Collect, io.StringIO]
) -> None:
    app = make_app()

    def json_500(error: Exception) -> tuple[dict[str, object], int]:
        return {"message": "sorry", "ref": error_id_of(error)}, 500

    app.register_error_handler(500, json_500)
    errutil.init_flask(app)
    response = app.test_client().get("/crash/sync")
    [report] = logged()
    assert response.status_code == 500
    assert response.get_json() == {"message": "sorry", "ref": report.error_id}
    assert_short_report_of_the_crash(report, "/crash/sync")
    assert app_logger_output[0].records == []


def test_an_exception_handler_that_logs_the_traceback_gives_one_short_report(
    logged: LoggedReports, app_logger_output: tuple[Collect, io.StringIO]
) -> None:
    app = errutil.init_flask(make_app())

    def any_error(error: Exception) -> Any:
        if isinstance(error, exceptions.HTTPException):
            return error
        app.logger.exception("unhandled error")
        return flask.jsonify(error="server error"), 500

    app.register_error_handler(Exception, any_error)
    response = app.test_client().get("/crash/sync")
    assert response.status_code == 500
    assert response.get_json() == {"error": "server error"}
    [report] = logged()
    assert_short_report_of_the_crash(report, "/crash/sync")
    collect, stream = app_logger_output
    assert collect.records == []
    assert "Traceback" not in stream.getvalue()


@pytest.mark.parametrize(("status", "reports"), [(404, 0), (500, 1), (503, 1)])
def test_an_apps_handler_answering_a_5xx_is_a_crash_a_4xx_is_not(
    status: int, reports: int, logged: LoggedReports
) -> None:
    app = errutil.init_flask(make_app())

    def no_such_order(error: KeyError) -> tuple[dict[str, str], int]:
        return {"error": "no such order"}, status

    app.register_error_handler(KeyError, no_such_order)
    response = app.test_client().get("/crash/sync")
    assert response.status_code == status
    assert response.get_json() == {"error": "no such order"}
    assert len(logged()) == reports
    for report in logged():
        assert_short_report_of_the_crash(report, "/crash/sync")


def test_abort_and_good_requests_are_not_crashes(logged: LoggedReports) -> None:
    client = errutil.init_flask(make_app()).test_client()
    assert client.get("/missing").status_code == 404
    assert client.get("/ok").get_json() == {"status": "ok"}
    assert logged() == []


def test_after_request_hooks_still_run_on_the_error_id_response(logged: LoggedReports) -> None:
    app = make_app()

    def tag(response: Any) -> Any:
        response.headers["X-Served-By"] = "shop"
        return response

    app.after_request(tag)
    errutil.init_flask(errutil.init_flask(app))  # a second call changes nothing
    response = app.test_client().get("/crash/sync")
    assert response.headers["X-Served-By"] == "shop"
    assert int(response.headers["Content-Length"]) == len(response.data)
    [report] = logged()
    assert response.get_json()["error_id"] == report.error_id


def test_in_testing_mode_flask_still_propagates_and_reports_once(logged: LoggedReports) -> None:
    app = errutil.init_flask(make_app())
    app.testing = True
    with pytest.raises(KeyError):
        app.test_client().get("/crash/sync")
    [report] = logged()
    assert_short_report_of_the_crash(report, "/crash/sync")


def test_a_crash_in_a_streamed_body_is_reported_and_not_completed(logged: LoggedReports) -> None:
    app = errutil.init_flask(make_app())
    response = app.test_client().get("/stream")  # the body is read when asked for
    with pytest.raises(KeyError):
        response.get_data()
    [report] = logged()
    assert report.error.frames[0].file == shown(repo)
    assert report.http == {"method": "GET", "path": "/stream", "status": 500}
