"""Entry points: HTTP routes, a thread target, a task body and a main function."""

import asyncio

from fastapi import APIRouter

from . import service


def order_route(order_id: str) -> dict[str, str]:
    return service.get_order(order_id)


async def order_route_async(order_id: str) -> dict[str, str]:
    await asyncio.sleep(0)
    return service.get_order(order_id)


def order_worker() -> None:
    service.get_order("zz")


async def order_task() -> None:
    await asyncio.sleep(0)
    service.get_order("zz")


# Registered by call rather than by decorator: the routes are the same, and mypy checks these
# functions here too, where FastAPI is not installed (its decorator would be untyped).
router = APIRouter()
router.add_api_route("/orders/{order_id}", order_route, methods=["GET"])
router.add_api_route("/async/orders/{order_id}", order_route_async, methods=["GET"])
