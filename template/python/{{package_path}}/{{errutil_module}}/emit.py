"""Send reports to stdlib logging, with storm control (storm.py) and listeners (metrics).

Reports go to the ``errutil`` logger at ERROR with the short text as the message and
the report in ``extra={"crash_report": report}``, never ``exc_info``: no formatter prints
a traceback as well, and any repo's existing logging set-up shows them. The one-line
records (``crash_repeated`` summaries, the ``crash_repeat`` line a repeated crash in a
request still gets, the ``crash_over_budget`` line of a crash beyond the report budget)
carry their JSON fields in ``extra={"crash_fields": {...}}``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping

from . import _config
from ._types import CrashReport
from .render import report_title
from .report import capture
from .storm import BRIEF, FULL, RepeatTracker

__all__ = [
    "add_listener",
    "flush_repeats",
    "log_exception",
    "log_report",
    "remove_listener",
    "repeat_tracker",
    "stdlib_fallback",
    "use_tracker",
]

Listener = Callable[[CrashReport], None]

_listeners: list[Listener] = []
# Called only with the reports logged in full (an error tracker: repeats would be noise).
_full_listeners: list[Listener] = []
_tracker = RepeatTracker()


def _reset_in_child() -> None:
    """A forked child starts with no repeat history and a lock nobody holds."""
    _tracker.reset()


def repeat_tracker() -> RepeatTracker:
    """The tracker deciding what is logged in full, counted as a repeat, or cut by the budget."""
    return _tracker


def use_tracker(tracker: RepeatTracker) -> RepeatTracker:
    """Put *tracker* in charge (a fresh history, or one on a test's clock); return the old one."""
    global _tracker
    previous, _tracker = _tracker, tracker
    return previous


_logger_cache: tuple[str, logging.Logger] | None = None


def _logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, remembered: getLogger takes logging's global lock, which
    every thread in a storm would queue on. A logger, once made, is never replaced."""
    global _logger_cache  # noqa: PLW0603 - the last logger asked for
    cached = _logger_cache
    if cached is not None and cached[0] == name:
        return cached[1]
    logger = logging.getLogger(name)
    _logger_cache = (name, logger)
    return logger


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_reset_in_child)


def add_listener(listener: Listener, *, full_only: bool = False) -> None:
    """Call *listener* with every report, repeats included (e.g. a Prometheus counter), or,
    *full_only*, with the reports logged in full only (e.g. an error tracker)."""
    listeners = _full_listeners if full_only else _listeners
    if listener not in listeners:
        listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    for listeners in (_listeners, _full_listeners):
        if listener in listeners:
            listeners.remove(listener)


def _notify(listeners: list[Listener], report: CrashReport) -> None:
    for listener in tuple(listeners):
        with contextlib.suppress(Exception):  # a broken listener must not cost the report
            listener(report)


def log_report(report: CrashReport, *, fatal: bool = False) -> None:
    """Notify listeners, then log the report in full, as a one-line record, or not at all
    (a repeat outside a request), as storm control decides. *fatal*: the crash ends the
    process, so it is logged in full whatever came before it."""
    _notify(_listeners, report)
    config = _config.current()
    logger = _logger(config.logger_name)
    if report.fallback is not None:
        _notify(_full_listeners, report)
        _log(logger, report.text(), {"crash_report": report})
        return
    decision = _tracker.decide(
        report.fingerprint,
        config.repeat_window,
        report.error.type,
        budget=config.report_budget,
        budget_window=config.budget_window,
        force=fatal,
    )
    for fingerprint, label, count, seconds in decision.summaries:
        _log_repeats(logger, fingerprint, label, count, seconds)
    if decision.kind == FULL:
        _notify(_full_listeners, report)
        _log(logger, report.text(), {"crash_report": report})
    elif decision.kind == BRIEF:
        _log_one_line(logger, report, "crash_over_budget", "(over the report budget)")
    elif report.http is not None:
        _log_one_line(logger, report, "crash_repeat", "repeat of")


def _log_one_line(logger: logging.Logger, report: CrashReport, event: str, why: str) -> None:
    """The title line and no stack: the error_id stays searchable at the cost of one line."""
    fields: dict[str, object] = {
        "event": event,
        "error_id": report.error_id,
        "fingerprint": report.fingerprint,
        "error": {"type": report.error.type, "message": report.error.message},
        "origin": report.origin,
    }
    if report.http is not None:
        fields["http"] = dict(report.http)
    title = report_title(report)  # not report.text(): this is the storm's hot path
    _log(logger, f"{title} {why} fingerprint={report.fingerprint}", {"crash_fields": fields})


def log_exception(
    exc: BaseException,
    *,
    origin: str,
    http: Mapping[str, object] | None = None,
    context: Mapping[str, str] | None = None,
    fatal: bool = False,
) -> CrashReport:
    """capture() and log_report(); if logging fails, the standard traceback goes to stderr."""
    report = capture(exc, origin=origin, http=http, context=context)
    try:
        log_report(report, fatal=fatal)
    except Exception:
        stdlib_fallback(exc)
    return report


def flush_repeats() -> None:
    """Log the repeat counts not yet summarised (at exit and on SIGTERM: no count is lost)."""
    logger = _logger(_config.current().logger_name)
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
    _log(
        logger,
        f"{label} repeated {count} more {times} in {seconds:.0f}s  [fingerprint={fingerprint}]",
        {"crash_fields": summary},
    )


_FAILED = "errutil_handler_failed"  # set on a record by a handler that could not write it


def _log(logger: logging.Logger, message: str, extra: dict[str, object]) -> None:
    """Log at ERROR; if a handler cannot write the record (stdout a closed pipe), the message
    goes to stderr once, instead of logging's "--- Logging error ---" dump, which would show
    a traceback through errutil's own frames and the report only as its "Message:"."""
    if not logger.isEnabledFor(logging.ERROR):
        return
    if not logger.hasHandlers() and _json_wanted():
        _write_json(extra)
        return
    _catch_handler_errors()
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 0, message, (), None, extra=extra
    )
    logger.handle(record)
    if getattr(record, _FAILED, False):
        with contextlib.suppress(Exception):  # stderr gone too: nothing left to write to
            sys.stderr.write(message + "\n")
            sys.stderr.flush()


def _json_wanted() -> bool:
    """ERRUTIL_LOG_FORMAT (else LOG_FORMAT) is `json`: asked of a program that configured no
    logging of its own, where Python's last-resort handler would print plain text."""
    wanted = os.environ.get("ERRUTIL_LOG_FORMAT") or os.environ.get("LOG_FORMAT") or ""
    return wanted.strip().lower() == "json"


def _write_json(extra: dict[str, object]) -> None:
    """One JSON object on one stderr line: the report's fields, or a one-line record's."""
    import json  # noqa: PLC0415 - only here: most programs never take this path (start-up time)

    report = extra.get("crash_report")
    fields = report.to_dict() if isinstance(report, CrashReport) else extra.get("crash_fields")
    with contextlib.suppress(Exception):  # stderr gone: nothing left to write to
        sys.stderr.write(json.dumps(fields, default=str) + "\n")
        sys.stderr.flush()


def _catch_handler_errors() -> None:
    """Let logging.Handler.handleError mark errutil's records instead of dumping them."""
    if getattr(logging.Handler.handleError, "_errutil", False):
        return
    original = logging.Handler.handleError

    def handle_error(self: logging.Handler, record: logging.LogRecord) -> None:
        if hasattr(record, "crash_report") or hasattr(record, "crash_fields"):
            setattr(record, _FAILED, True)
            return
        original(self, record)

    handle_error._errutil = True  # type: ignore[attr-defined]
    logging.Handler.handleError = handle_error  # type: ignore[method-assign]


def stdlib_fallback(exc: BaseException) -> None:
    """The interpreter's own output for *exc* on stderr, redacted: the last resort, never
    raises. If even formatting fails, the interpreter's hook prints it as it is."""
    try:
        import traceback  # noqa: PLC0415 - only needed when errutil itself failed

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        sys.stderr.write(_config.current().redactor(text))
        sys.stderr.flush()
    except Exception:
        with contextlib.suppress(BaseException):  # nothing left to fall back on
            sys.__excepthook__(type(exc), exc, exc.__traceback__)
