"""The storage layer: a dict standing in for a database."""

from __future__ import annotations

import asyncio
import json

__all__ = ["load_order", "load_order_async", "load_payload"]

_ORDERS: dict[str, dict[str, object]] = {"a1": {"id": "a1", "total": 12}}
_PAYLOADS: dict[str, str] = {"a1": '{"id": "a1"}', "broken": "{not json"}


def load_order(order_id: str) -> dict[str, object]:
    return _ORDERS[order_id]


async def load_order_async(order_id: str) -> dict[str, object]:
    await asyncio.sleep(0)
    return _ORDERS[order_id]


def load_payload(order_id: str) -> dict[str, object]:
    payload: dict[str, object] = json.loads(_PAYLOADS[order_id])
    return payload
