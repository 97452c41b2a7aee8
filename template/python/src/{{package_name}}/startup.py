"""The start-up hook: everything that must happen before the service serves.

`start()` runs first in `python -m` / `make run`. It configures logging, installs errutil
(so a crash anywhere after this point gives a short report), then calls `on_startup()`:
the one place for the service's own start-up code (connections, caches, warm-up).
"""

from __future__ import annotations

import faulthandler
import sys

from . import errutil
from .app import create_app
from .config import Settings
from .logging_config import configure_logging

__all__ = ["check_wiring", "on_startup", "start"]


def on_startup(settings: Settings) -> None:
    """Put the service's own start-up code here; it runs after logging and errutil are ready."""


def start(settings: Settings | None = None) -> Settings:
    """Configure logging, install errutil, run `on_startup`; return the settings in force."""
    settings = Settings.from_env() if settings is None else settings
    # A segfault or a deadlock (SIGABRT, SIGSEGV...) still dumps every thread's stack to
    # stderr: the one crash errutil cannot report, because Python code no longer runs.
    faulthandler.enable()
    configure_logging(settings.log_format, settings.log_level)
    errutil.install()
    on_startup(settings)
    return settings


def check_wiring() -> list[str]:
    """Return what is missing for errutil to catch every crash (empty when all is wired)."""
    problems: list[str] = []
    previous_hook = sys.excepthook
    try:
        start(Settings())
        hook_module = getattr(sys.excepthook, "__module__", "") or ""
        if not hook_module.startswith(errutil.__name__):
            problems.append("start() does not install errutil: sys.excepthook is not errutil's")
    finally:
        errutil.uninstall()
        sys.excepthook = previous_hook
    app = create_app()
    # Middleware.cls is typed as a protocol; compare through `object` to ask "is it ours?".
    wrapped: list[object] = [m.cls for m in app.user_middleware]
    if errutil.ErrorMiddleware not in wrapped:
        problems.append("create_app() does not add errutil.ErrorMiddleware")
    return problems


if __name__ == "__main__":
    missing = check_wiring()
    for problem in missing:
        print(f"missing: {problem}", file=sys.stderr)
    if not missing:
        print("errutil is wired: start() installs the hooks, create_app() adds ErrorMiddleware")
    sys.exit(1 if missing else 0)
