"""guard: log a crash report, then swallow or re-raise, as the caller chooses."""

from __future__ import annotations

import asyncio

import pytest

from ._subject import errutil
from .appcode import repo
from .conftest import LoggedReports


def test_decorator_logs_and_swallows(logged: LoggedReports) -> None:
    @errutil.guard
    def handle(order_id: str) -> object:
        return repo.load_order(order_id)

    assert handle("zz") is None
    assert handle("a1") == {"id": "a1", "total": 12}
    [report] = logged()
    assert report.origin == "guard"
    assert report.error.frames[0].function == "load_order"


def test_decorator_with_reraise_logs_and_raises(logged: LoggedReports) -> None:
    @errutil.guard(reraise=True, origin="task")
    def handle() -> object:
        return repo.load_order("zz")

    with pytest.raises(KeyError):
        handle()
    assert [r.origin for r in logged()] == ["task"]


def test_context_manager_around_a_worker_loop_body(logged: LoggedReports) -> None:
    done = []
    for order_id in ("a1", "zz", "a1"):
        with errutil.guard():
            repo.load_order(order_id)
            done.append(order_id)
    assert done == ["a1", "a1"]
    assert len(logged()) == 1


def test_async_function_and_async_with(logged: LoggedReports) -> None:
    @errutil.guard
    async def handle() -> object:
        return await repo.load_order_async("zz")

    async def body() -> None:
        async with errutil.guard():
            await repo.load_order_async("zz")

    assert asyncio.run(handle()) is None
    asyncio.run(body())
    assert [r.error.frames[0].function for r in logged()] == ["load_order_async"] * 2


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, asyncio.CancelledError])
def test_interrupts_pass_through(exc_type: type[BaseException], logged: LoggedReports) -> None:
    @errutil.guard
    def stop() -> None:
        raise exc_type

    with pytest.raises(exc_type):
        stop()
    assert logged() == []


def test_guard_refuses_a_non_function() -> None:
    with pytest.raises(TypeError, match="guard\\(\\) decorates a function, got int"):
        errutil.guard(3)  # type: ignore[call-overload]
