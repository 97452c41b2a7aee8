"""The outer layer: each function fails a different way, like a route handler would."""

from __future__ import annotations

from collections.abc import Iterator

from . import service

__all__ = ["crash_async", "crash_library", "crash_sync", "lines"]


def crash_sync() -> dict[str, object]:
    """KeyError raised in repo.py, through service.py."""
    return service.get_order("zz")


async def crash_async() -> dict[str, object]:
    """The same crash, awaited."""
    return await service.get_order_async("zz")


def crash_library() -> dict[str, object]:
    """Raised inside the json library: the raise site is kept and marked [library]."""
    return service.get_order_payload("broken")


def lines() -> Iterator[str]:
    """Fails after its first line: a response that has already started."""
    yield "first line\n"
    service.get_order("zz")
