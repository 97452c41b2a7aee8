"""The HTTP layer of the crash demo: each route fails a different way."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from . import service

__all__ = ["router"]

router = APIRouter(prefix="/crash", tags=["crash demo"])


@router.get("/sync")
def crash_sync() -> dict[str, object]:
    """KeyError raised in repo.py, through service.py, in a sync route (thread pool)."""
    return service.get_order("zz")


@router.get("/async")
async def crash_async() -> dict[str, object]:
    """The same crash in an async route (event loop)."""
    return await service.get_order_async("zz")


@router.get("/library")
def crash_library() -> dict[str, object]:
    """Raised inside the json library: the raise site is kept and marked [library]."""
    return service.get_order_payload("broken")


@router.get("/stream")
def crash_stream() -> StreamingResponse:
    """Fails after the response has started: no second response, still one report."""
    return StreamingResponse(_lines(), media_type="text/plain")


@router.get("/task", status_code=202)
async def crash_task() -> dict[str, str]:
    """A background task fails and nobody awaits it: reported with origin task."""
    asyncio.get_running_loop().create_task(service.refresh_order("zz"), name="refresh-order")
    return {"status": "accepted"}


@router.get("/thread", status_code=202)
def crash_thread() -> dict[str, str]:
    """A background thread fails: reported with origin thread and the thread's name."""
    worker = threading.Thread(target=service.get_order, args=("zz",), name="order-worker")
    worker.start()
    worker.join()
    return {"status": "accepted"}


def _lines() -> Iterator[str]:
    yield "first line\n"
    service.get_order("zz")
