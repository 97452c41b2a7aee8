"""Optional: errutil's crash reports also go to Sentry when ``SENTRY_DSN`` is set.

Nothing is imported unless the variable is set and ``sentry-sdk`` is installed (it is not a
dependency of the service: ``uv add sentry-sdk`` to use it). Each report becomes one Sentry
event built from the report itself, not from the exception: its frames are the ones errutil
kept (``in_app`` as errutil's classifier decided: library frames are kept only at the raise
site and marked ``in_app: false``), grouped by errutil's fingerprint, with no local variables
(``include_local_variables=False``, and the report has none to give). Sentry's default
integrations are off, so a crash is sent once, by errutil, not again by Sentry's own hooks.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from .errutil import emit
from .errutil._types import CrashReport, ErrorInfo

__all__ = ["sentry_event", "setup_sentry"]


def setup_sentry(dsn: str | None, **options: Any) -> bool:
    """Send crash reports to Sentry if *dsn* is set and sentry-sdk installed; True if so.

    *options* go to ``sentry_sdk.init`` (``environment``, ``release``, a test's ``transport``).
    """
    if not dsn or importlib.util.find_spec("sentry_sdk") is None:
        return False
    import sentry_sdk  # noqa: PLC0415 - optional: imported only when asked for

    sentry_sdk.init(
        dsn=dsn,
        include_local_variables=False,
        default_integrations=False,
        auto_enabling_integrations=False,
        **options,
    )
    emit.add_listener(_send, full_only=True)  # repeats are counted in the log, not sent
    return True


def _send(report: CrashReport) -> None:
    import sentry_sdk  # noqa: PLC0415 - loaded by setup_sentry before this listener exists

    sentry_sdk.capture_event(sentry_event(report))  # type: ignore[arg-type]  # a plain dict


def sentry_event(report: CrashReport) -> dict[str, Any]:
    """A Sentry event for *report*: exceptions oldest cause first, frames outermost first."""
    chain: list[ErrorInfo] = [report.error]
    while chain[-1].cause is not None:
        cause = chain[-1].cause
        assert cause is not None
        chain.append(cause)
    event: dict[str, Any] = {
        "level": "error",
        "exception": {"values": [_exception_value(info) for info in reversed(chain)]},
        "fingerprint": [report.fingerprint],
        "tags": {"error_id": report.error_id, "origin": report.origin},
    }
    request_id = report.context.get("request_id")
    if request_id:
        event["tags"]["request_id"] = request_id
    if report.http is not None:
        event["request"] = {
            "method": str(report.http.get("method", "")),
            "url": str(report.http.get("path", "")),
        }
    return event


def _exception_value(info: ErrorInfo) -> dict[str, Any]:
    module, _, name = info.type.rpartition(".")
    value: dict[str, Any] = {
        "type": name,
        "value": info.message,
        "stacktrace": {
            "frames": [
                {
                    "filename": frame.file,
                    "function": frame.function,
                    "lineno": frame.line,
                    "in_app": not frame.library,
                }
                for frame in reversed(info.frames)
            ]
        },
    }
    if module:
        value["module"] = module
    return value
