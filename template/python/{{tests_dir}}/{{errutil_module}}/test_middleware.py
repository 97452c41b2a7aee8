"""ErrorMiddleware: one report per failed request, a bare 500, nothing leaked."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")  # for fastapi's TestClient

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from ._subject import ReportedFilter, errutil
from .appcode import api, repo, service
from .conftest import LoggedReports
from .helpers import shown


def server_dump(exc: BaseException) -> logging.LogRecord:
    """The record uvicorn logs for an exception that escaped the app."""
    exc_info = (type(exc), exc, exc.__traceback__)
    message = "Exception in ASGI application"
    return logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, message, None, exc_info)


class OutOfBandError(BaseException):
    """Derives from BaseException, as some libraries' control-flow exceptions do."""


def crash_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(errutil.ErrorMiddleware)
    # The test app's functions are the routes: their frames are the app's, as a router's would be.
    app.get("/crash/sync")(api.crash_sync)
    app.get("/crash/async")(api.crash_async)
    app.get("/crash/library")(api.crash_library)

    @app.get("/crash/stream")
    def crash_stream() -> StreamingResponse:
        return StreamingResponse(api.lines(), media_type="text/plain")

    @app.get("/exit/sync")
    def exit_sync() -> dict[str, str]:
        raise SystemExit(3)

    @app.get("/exit/async")
    async def exit_async() -> dict[str, str]:
        raise SystemExit("bye")

    @app.get("/base/async")
    async def base_async() -> dict[str, str]:
        raise OutOfBandError("a BaseException subclass")

    @app.get("/base/sync")
    def base_sync() -> dict[str, str]:
        raise OutOfBandError("a BaseException subclass")

    @app.get("/ok")
    def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/ws/crash")
    async def ws_crash(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await api.crash_async()

    @app.websocket("/ws/before-accept")
    async def ws_before_accept(websocket: WebSocket) -> None:
        await api.crash_async()

    @app.websocket("/ws/after-close")
    async def ws_after_close(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()
        await api.crash_async()

    return app


@pytest.mark.parametrize("route", ["/crash/sync", "/crash/async", "/crash/library"])
def test_a_crash_gives_one_report_and_a_bare_500(route: str, logged: LoggedReports) -> None:
    with TestClient(crash_app(), raise_server_exceptions=False) as client:
        response = client.get(route + "?token=secret")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"error", "error_id"}
    assert body["error"] == "internal"
    assert "zz" not in response.text
    assert "crash" not in response.text
    assert response.headers["content-type"] == "application/json"
    [report] = logged()
    assert report.error_id == body["error_id"]
    assert report.origin == "http"
    assert report.http == {"method": "GET", "path": route, "status": 500}
    assert "secret" not in str(report.to_dict())


def test_the_report_shows_the_three_service_modules(logged: LoggedReports) -> None:
    with TestClient(crash_app(), raise_server_exceptions=False) as client:
        client.get("/crash/sync")
    [report] = logged()
    assert [f.file for f in report.error.frames] == [
        shown(repo),
        shown(service),
        shown(api),
    ]
    assert len(report.text().splitlines()) == 5


def test_a_good_request_passes_untouched(logged: LoggedReports) -> None:
    with TestClient(crash_app()) as client:
        response = client.get("/ok")
    assert response.json() == {"status": "ok"}
    assert logged() == []


def test_after_the_response_started_no_second_response_and_one_report(
    logged: LoggedReports,
) -> None:
    with (
        TestClient(crash_app(), raise_server_exceptions=True) as client,
        pytest.raises(KeyError) as raised,
    ):
        client.get("/crash/stream")
    [report] = logged()
    assert report.http == {"method": "GET", "path": "/crash/stream", "status": 500}
    # the re-raised exception is marked, so the server's own dump of it is filtered out
    assert not ReportedFilter().filter(server_dump(raised.value))
    assert any(isinstance(f, ReportedFilter) for f in logging.getLogger("uvicorn.error").filters)


def test_other_exceptions_still_reach_the_server_log() -> None:
    assert ReportedFilter().filter(server_dump(ValueError("not reported by errutil")))


def test_wrapping_an_asgi_app_directly_and_lifespan_passes_through(logged: LoggedReports) -> None:
    sent: list[dict[str, Any]] = []

    async def failing_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await send({"type": "lifespan.startup.complete"})
            return
        raise RuntimeError("boom")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        sent.append(message)

    middleware = errutil.ErrorMiddleware(failing_app)
    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.complete"}]
    asyncio.run(middleware({"type": "http", "method": "POST", "path": "/x"}, receive, send))
    assert sent[1]["status"] == 500
    assert sent[2]["body"].startswith(b'{"error":"internal","error_id":"')
    [report] = logged()
    assert report.error.type == "RuntimeError"


def _websocket_closed_by_crash(path: str, *, accepted: bool) -> WebSocketDisconnect:
    with TestClient(crash_app()) as client, pytest.raises(WebSocketDisconnect) as closed:
        _talk(client, path, accepted=accepted)
    return closed.value


def _talk(client: TestClient, path: str, *, accepted: bool) -> None:
    with client.websocket_connect(path) as websocket:
        assert accepted, "the handshake should have been refused"
        websocket.send_text("go")
        websocket.receive_text()


@pytest.mark.parametrize(("path", "accepted"), [("/ws/crash", True), ("/ws/before-accept", False)])
def test_a_websocket_crash_is_reported_and_closed_with_1011(
    path: str, accepted: bool, logged: LoggedReports
) -> None:
    closed = _websocket_closed_by_crash(path, accepted=accepted)
    assert closed.code == 1011
    [report] = logged()
    assert json.loads(closed.reason) == {"error": "internal", "error_id": report.error_id}
    assert report.origin == "http"
    assert report.http == {"method": "GET", "path": path, "status": 500}
    assert report.error.frames[0].file == shown(repo)


def test_a_websocket_crash_after_close_is_reported_without_a_second_close(
    logged: LoggedReports,
) -> None:
    with TestClient(crash_app()) as client, client.websocket_connect("/ws/after-close") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1000
    [report] = logged()
    assert report.http == {"method": "GET", "path": "/ws/after-close", "status": 500}


@pytest.mark.parametrize(
    ("route", "error_type"),
    [
        ("/exit/sync", "SystemExit"),
        ("/exit/async", "SystemExit"),
        ("/base/sync", "OutOfBandError"),
        ("/base/async", "OutOfBandError"),
    ],
)
def test_a_base_exception_in_a_route_gives_the_error_id_500_and_one_report(
    route: str, error_type: str, logged: LoggedReports
) -> None:
    with TestClient(crash_app(), raise_server_exceptions=False) as client:
        response = client.get(route)
        assert client.get("/ok").status_code == 200  # the service goes on
    assert response.status_code == 500
    [report] = logged()
    assert response.json() == {"error": "internal", "error_id": report.error_id}
    assert report.error.type.rpartition(".")[2] == error_type
    assert report.origin == "http"


def test_cancellation_passes_through_unreported(logged: LoggedReports) -> None:
    async def cancelled_app(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request"}

    middleware = errutil.ErrorMiddleware(cancelled_app)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(middleware({"type": "http", "method": "GET", "path": "/"}, receive, send))
    assert sent == []
    assert logged() == []
