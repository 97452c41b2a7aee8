"""WSGIMiddleware: one report per failed request, a bare 500; a started response is cut."""

from __future__ import annotations

import http.client
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from ._subject import ReportedFilter, errutil
from .appcode import api, repo
from .conftest import LoggedReports
from .helpers import shown, subprocess_env

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(app: WSGIApp, *, server: str = "wsgiref") -> Iterator[int]:
    """Serve *app* on 127.0.0.1 in a thread; yield the port."""
    httpd: Any
    if server == "werkzeug":
        serving = pytest.importorskip("werkzeug.serving")
        httpd = serving.make_server("127.0.0.1", 0, app, threaded=True)
    else:
        httpd = make_server("127.0.0.1", 0, app, WSGIServer, _QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_port)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class ClosingBody:
    """An app's iterable that records whether the server (through errutil) closed it."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        self.closed += 1


def encoded(lines: Iterable[str]) -> Iterator[bytes]:
    for line in lines:
        yield line.encode()


def crash_before_start(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    api.crash_sync()
    return []


def crash_after_start(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    api.crash_sync()
    return []


def crash_in_first_chunk(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield from encoded(api.crash_sync())


@pytest.mark.parametrize("app", [crash_before_start, crash_after_start, crash_in_first_chunk])
def test_a_crash_before_any_byte_gives_one_report_and_a_bare_500(
    app: WSGIApp, logged: LoggedReports
) -> None:
    with serve(errutil.WSGIMiddleware(app)) as port:
        status, headers, body = get(port, "/orders/zz?token=secret")
    assert status == 500
    assert headers["Content-Type"] == "application/json"
    [report] = logged()
    assert json.loads(body) == {"error": "internal", "error_id": report.error_id}
    assert report.origin == "http"
    assert report.http == {"method": "GET", "path": "/orders/zz", "status": 500}
    assert "secret" not in str(report.to_dict())
    text = report.text()
    assert len(text.splitlines()) <= 6
    assert report.error.frames[0].file == shown(repo)
    assert "in load_order" in text.splitlines()[1]


def test_a_good_response_passes_untouched_and_is_closed(logged: LoggedReports) -> None:
    bodies: list[ClosingBody] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> ClosingBody:
        start_response("200 OK", [("Content-Type", "text/plain")])
        bodies.append(ClosingBody([b"one ", b"two"]))
        return bodies[-1]

    with serve(errutil.WSGIMiddleware(app)) as port:
        status, _, body = get(port, "/ok")
    assert (status, body) == (200, b"one two")
    assert bodies[0].closed == 1
    assert logged() == []


@pytest.mark.parametrize("server", ["wsgiref", "werkzeug"])
def test_a_crash_after_the_body_started_is_reported_and_the_response_cut(
    server: str, logged: LoggedReports
) -> None:
    bodies: list[ClosingBody] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> ClosingBody:
        headers = [("Content-Type", "text/plain")]
        if server == "wsgiref":  # an HTTP/1.0 server: only a length tells the client it is cut
            headers.append(("Content-Length", "100"))
        start_response("200 OK", headers)
        bodies.append(ClosingBody(encoded(api.lines())))
        return bodies[-1]

    with serve(errutil.WSGIMiddleware(app), server=server) as port:
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
    assert len(report.text().splitlines()) <= 6
    assert bodies[0].closed == 1


def _call(app: WSGIApp) -> tuple[list[tuple[str, list[tuple[str, str]]]], list[bytes], Any]:
    """Call the middleware as a server does; what start_response got, what write got."""
    starts: list[tuple[str, list[tuple[str, str]]]] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and written:  # PEP 3333: the headers are out, re-raise
            raise exc_info[1].with_traceback(exc_info[2])
        starts.append((status, headers))
        return written.append

    environ = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/api", "PATH_INFO": "/orders"}
    return starts, written, errutil.WSGIMiddleware(app)(environ, start_response)


def test_a_crash_after_write_is_cut_and_marked_for_the_server_log(logged: LoggedReports) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"partial")
        api.crash_sync()
        return []

    with pytest.raises(KeyError) as raised:
        _call(app)
    [report] = logged()
    assert report.http == {"method": "POST", "path": "/api/orders", "status": 500}
    record = logging.LogRecord(
        "gunicorn.error", logging.ERROR, __file__, 1, "Error handling request", None,
        (KeyError, raised.value, raised.value.__traceback__),
    )  # fmt: skip
    assert not ReportedFilter().filter(record)
    assert any(isinstance(f, ReportedFilter) for f in logging.getLogger("gunicorn.error").filters)


def test_a_crash_in_close_is_reported_and_the_whole_body_delivered(
    logged: LoggedReports,
) -> None:
    class FailingClose(ClosingBody):
        def close(self) -> None:
            super().close()
            api.crash_sync()

    body = FailingClose([b"all ", b"of it"])

    def app(environ: dict[str, Any], start_response: StartResponse) -> FailingClose:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    starts, _, result = _call(app)
    assert b"".join(result) == b"all of it"
    result.close()
    result.close()
    assert body.closed == 1
    assert [status for status, _ in starts] == ["200 OK"]
    [report] = logged()
    assert report.error.frames[0].file == shown(repo)


def test_importing_errutil_loads_no_web_framework() -> None:
    """Flask, Django and their libraries are imported only when an integration is used."""
    frameworks = ("flask", "werkzeug", "django", "asgiref")
    code = (
        f"import sys, {errutil.__name__}; "
        f"print(sorted(m for m in sys.modules if m.partition('.')[0] in {frameworks!r}))"
    )
    command = [sys.executable, "-c", code]
    env = subprocess_env()
    result = subprocess.run(command, check=False, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_two_argument_start_response_keeps_working() -> None:
    """PEP 3333 makes exc_info optional: the middleware passes it on only when it has one."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def start_response(status: str, headers: list[tuple[str, str]]) -> Callable[[bytes], object]:
        seen.append(status)
        return lambda data: None

    body = errutil.WSGIMiddleware(app)({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, start_response)
    assert b"".join(body) == b"ok"
    assert seen == ["200 OK"]
