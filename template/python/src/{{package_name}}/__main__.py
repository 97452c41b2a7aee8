"""`python -m <package>` and the console script: start up, then serve with uvicorn."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from .app import create_app
from .config import ConfigError, Settings
from .sentry import setup_sentry
from .startup import start

__all__ = ["DrainingServer", "main", "serve"]


class DrainingServer(uvicorn.Server):
    """uvicorn's server, stopped the way Kubernetes stops a pod.

    On the first SIGTERM (or SIGINT) it calls *on_drain* (the app reports not-ready on
    /readyz) and keeps serving for *drain_seconds*, so the load balancer stops sending new
    requests before the listening socket closes; then uvicorn's graceful shutdown lets the
    requests in flight finish (`timeout_graceful_shutdown`). A second signal stops at once.
    """

    def __init__(
        self, config: uvicorn.Config, drain_seconds: float, on_drain: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self.on_drain = on_drain
        self._draining: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is not None or self.drain_seconds <= 0:
            super().handle_exit(sig, frame)
            return
        self.on_drain()
        self._draining = threading.Timer(self.drain_seconds, super().handle_exit, (sig, frame))
        self._draining.daemon = True
        self._draining.start()


def serve(app: object, settings: Settings) -> None:
    """Serve *app* with uvicorn until SIGTERM, draining as `DrainingServer` says."""
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]  # any ASGI app
        host=settings.host,
        port=settings.port,
        # log_config=None keeps the logging that start() configured: uvicorn's own lines go
        # through it too (one JSON object per line in json mode).
        log_config=None,
        # access.RequestMiddleware writes one structured line per request instead.
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
    )
    state = getattr(app, "state", None)

    def not_ready() -> None:
        if state is not None:
            state.ready = False
            state.stopping = True

    DrainingServer(config, settings.shutdown_drain_seconds, not_ready).run()


def main() -> None:
    """Run the start-up hook, then serve `create_app()` on $HOST:$PORT.

    With ``SENTRY_DSN`` set (and sentry-sdk installed), crash reports go to Sentry too.
    """
    try:
        settings = start()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        sys.exit(2)
    setup_sentry(os.environ.get("SENTRY_DSN"))
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
