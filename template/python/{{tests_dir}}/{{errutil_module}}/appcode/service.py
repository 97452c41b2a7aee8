"""The middle layer."""

from __future__ import annotations

from . import repo

__all__ = ["get_order", "get_order_async", "get_order_payload"]


def get_order(order_id: str) -> dict[str, object]:
    return repo.load_order(order_id)


async def get_order_async(order_id: str) -> dict[str, object]:
    return await repo.load_order_async(order_id)


def get_order_payload(order_id: str) -> dict[str, object]:
    return repo.load_payload(order_id)
