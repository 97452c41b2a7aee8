"""Run one crash scenario inside a rendered service, with errutil (`ours`) or without it.

python driver.py MODE SCENARIO [PORT]    MODE: default | ours | ours-json
"""

import asyncio
import gc
import sys
import threading

from __PACKAGE__.orders import api

mode, scenario = sys.argv[1], sys.argv[2]

if mode.startswith("ours"):
    from __PACKAGE__.config import Settings
    from __PACKAGE__.startup import start

    settings = start(Settings(log_format="json" if mode == "ours-json" else "console"))

if scenario == "http":
    import uvicorn
    from fastapi import FastAPI

    port = int(sys.argv[3])
    if mode.startswith("ours"):
        from __PACKAGE__.app import create_app

        app = create_app(settings)
        app.include_router(api.router)
        # as `python -m <package>` serves it: the service writes its own access line
        uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    else:
        app = FastAPI()
        app.include_router(api.router)
        uvicorn.run(app, host="127.0.0.1", port=port)
elif scenario == "thread":
    worker = threading.Thread(target=api.order_worker, name="order-worker")
    worker.start()
    worker.join()
elif scenario == "task":

    async def main() -> None:
        asyncio.get_running_loop().create_task(api.order_task())
        await asyncio.sleep(0.05)

    asyncio.run(main())
    gc.collect()
elif scenario == "main":
    api.order_worker()
