"""Run one crash scenario inside a rendered service, with errutil (`ours`) or without it.

python -m <package>.orders.driver MODE SCENARIO [PORT]
    MODE: default | ours | ours-json; SCENARIO: http | thread | task | main
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from typing import TYPE_CHECKING, Literal

from . import api

if TYPE_CHECKING:
    from ..config import Settings

# The service's modules are imported in the `ours` modes only: `default` is the service's
# code without anything of its start-up.


def start_service(mode: str) -> Settings:
    """The service's start-up hook (logging, errutil), in console or JSON logging."""
    from .. import config, startup

    log_format: Literal["json", "console"] = "json" if mode == "ours-json" else "console"
    return startup.start(config.Settings(log_format=log_format))


def serve(mode: str, port: int) -> None:
    """Serve the orders routes: in the service's app (ours) or a bare FastAPI app (default)."""
    import uvicorn
    from fastapi import FastAPI

    if mode == "default":
        bare = FastAPI()
        bare.include_router(api.router)
        uvicorn.run(bare, host="127.0.0.1", port=port)
        return
    from .. import app

    service_app = app.create_app(start_service(mode))
    service_app.include_router(api.router)
    # as `python -m <package>` serves it: the service writes its own access line
    uvicorn.run(service_app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def crash_in_task() -> None:
    """A task that crashes and is never awaited: its exception is reported when it is freed."""

    async def run() -> None:
        task = asyncio.get_running_loop().create_task(api.order_task())
        await asyncio.wait([task])  # done, its exception never retrieved
        del task
        gc.collect()  # freed while the loop (and its exception handler) still runs

    asyncio.run(run())


def main(mode: str, scenario: str, *rest: str) -> None:
    """Every scenario but `main`, which crashes from the entry point itself (see below)."""
    if scenario == "http":
        serve(mode, int(rest[0]))
        return
    if mode.startswith("ours"):
        start_service(mode)
    if scenario == "thread":
        worker = threading.Thread(target=api.order_worker, name="order-worker")
        worker.start()
        worker.join()
    elif scenario == "task":
        crash_in_task()


if __name__ == "__main__":
    if sys.argv[2:3] == ["main"]:
        # A crash in main as a service's own entry point has it: the entry module's frame
        # and the code it calls, nothing of this driver's dispatching in between.
        if sys.argv[1].startswith("ours"):
            start_service(sys.argv[1])
        api.order_worker()
    else:
        main(*sys.argv[1:])
