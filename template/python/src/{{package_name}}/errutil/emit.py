"""Send reports to stdlib logging, with repeat suppression and listeners (metrics).

Reports go to the ``errutil`` logger at ERROR with the short text as the message and
the report in ``extra={"crash_report": report}``, never ``exc_info``: no formatter prints
a traceback as well, and any repo's existing logging set-up shows them. Repeat summaries,
and the one line a repeated crash in a request still gets (so the error_id the client
was given can be found), carry their JSON fields in ``extra={"crash_fields": {...}}``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Mapping

from . import _config
from ._types import CrashReport
from .report import capture
from .storm import RepeatTracker

__all__ = [
    "add_listener",
    "flush_repeats",
    "log_exception",
    "log_report",
    "remove_listener",
    "stdlib_fallback",
]

Listener = Callable[[CrashReport], None]

_listeners: list[Listener] = []
_tracker = RepeatTracker()


def add_listener(listener: Listener) -> None:
    """Call *listener* with every report, repeats included (e.g. a Prometheus counter)."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def log_report(report: CrashReport) -> None:
    """Notify listeners, then log the report unless it repeats a recent fingerprint."""
    for listener in tuple(_listeners):
        with contextlib.suppress(Exception):  # a broken listener must not cost the report
            listener(report)
    config = _config.current()
    logger = logging.getLogger(config.logger_name)
    if report.fallback is not None:
        logger.error(report.text(), extra={"crash_report": report})
        return
    decision = _tracker.decide(report.fingerprint, config.repeat_window, report.error.type)
    if decision.summary_count:
        _log_repeats(
            logger,
            report.fingerprint,
            report.error.type,
            decision.summary_count,
            decision.summary_seconds,
        )
    if decision.full:
        logger.error(report.text(), extra={"crash_report": report})
    elif report.http is not None:
        _log_http_repeat(logger, report)


def _log_http_repeat(logger: logging.Logger, report: CrashReport) -> None:
    """One line for a repeated crash in a request: the client's error_id stays searchable."""
    fields = {
        "event": "crash_repeat",
        "error_id": report.error_id,
        "fingerprint": report.fingerprint,
        "error": {"type": report.error.type, "message": report.error.message},
        "origin": report.origin,
        "http": dict(report.http or {}),
    }
    title = report.text().partition("\n")[0]
    logger.error(
        f"{title} repeat of fingerprint={report.fingerprint}", extra={"crash_fields": fields}
    )


def log_exception(
    exc: BaseException,
    *,
    origin: str,
    http: Mapping[str, object] | None = None,
    context: Mapping[str, str] | None = None,
) -> CrashReport:
    """capture() and log_report(); if logging fails, the standard traceback goes to stderr."""
    report = capture(exc, origin=origin, http=http, context=context)
    try:
        log_report(report)
    except Exception:
        stdlib_fallback(exc)
    return report


def flush_repeats() -> None:
    """Log the repeat counts not yet summarised (at exit, so no count is lost)."""
    logger = logging.getLogger(_config.current().logger_name)
    for fingerprint, label, count, seconds in _tracker.drain():
        _log_repeats(logger, fingerprint, label, count, seconds)


def _log_repeats(
    logger: logging.Logger, fingerprint: str, label: str, count: int, seconds: float
) -> None:
    summary = {
        "event": "crash_repeated",
        "fingerprint": fingerprint,
        "error": {"type": label},
        "repeats": count,
        "seconds": round(seconds, 1),
    }
    times = "time" if count == 1 else "times"
    logger.error(
        f"{label} repeated {count} more {times} in {seconds:.0f}s  [fingerprint={fingerprint}]",
        extra={"crash_fields": summary},
    )


def stdlib_fallback(exc: BaseException) -> None:
    """The interpreter's own output for *exc* on stderr: the last resort, never raises."""
    with contextlib.suppress(BaseException):  # nothing left to fall back on
        sys.__excepthook__(type(exc), exc, exc.__traceback__)
