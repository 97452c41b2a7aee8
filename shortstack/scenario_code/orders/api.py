"""Entry points: HTTP routes, a thread target, a task body and a main function."""

import asyncio

from fastapi import APIRouter

from . import service

router = APIRouter()


@router.get("/orders/{order_id}")
def order_route(order_id: str) -> dict[str, str]:
    return service.get_order(order_id)


@router.get("/async/orders/{order_id}")
async def order_route_async(order_id: str) -> dict[str, str]:
    await asyncio.sleep(0)
    return service.get_order(order_id)


def order_worker() -> None:
    service.get_order("zz")


async def order_task() -> None:
    await asyncio.sleep(0)
    service.get_order("zz")
