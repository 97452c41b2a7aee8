"""OpenTelemetry, when the service uses it: trace and span ids for a report, and the crash
recorded on the request's span and as an OpenTelemetry log record, with the short stack.

Nothing is imported: if the service never imported ``opentelemetry.trace`` there is no
active span, the report simply has no ids, and nothing is recorded.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping

from ._types import CrashReport
from .render import exception_attributes, report_title

__all__ = ["record_crash", "trace_ids"]

# The API's placeholders before an SDK is set up: recording to them would cost for nothing.
_UNCONFIGURED = frozenset(("ProxyLoggerProvider", "NoOpLoggerProvider"))


def trace_ids() -> dict[str, str]:
    """``trace_id`` / ``span_id`` of the current span, in hex as OpenTelemetry writes them."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return {}
    try:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return {}
        return {
            "trace_id": format(context.trace_id, "032x"),
            "span_id": format(context.span_id, "016x"),
        }
    except Exception:  # a broken tracer must not cost us the crash report
        return {}


def record_crash(
    report: CrashReport, exc: BaseException, scope: Mapping[str, object] | None = None
) -> None:
    """Record *report* where OpenTelemetry looks, with the short stack only.

    On the current (server) span: ONE standard ``exception`` event with ``exception.type``,
    ``exception.message`` and ``exception.stacktrace``, and status ERROR. To the configured
    logger provider: one log record with the same attributes (FastAPI's own telemetry would
    log the full stack; it is told the exception is already recorded when *scope* carries
    its request state). Never raises.
    """
    with contextlib.suppress(Exception):
        attributes: dict[str, str] = dict(exception_attributes(report))
        attributes["error_id"] = report.error_id
        trace = sys.modules.get("opentelemetry.trace")
        if trace is not None:
            span = trace.get_current_span()
            if span.is_recording():
                span.add_event("exception", attributes)
                span.set_status(trace.Status(trace.StatusCode.ERROR, report.error.type))
        _mark_recorded(exc, scope)
        _emit_log_record(report, attributes)


def _mark_recorded(exc: BaseException, scope: Mapping[str, object] | None) -> None:
    """FastAPI's telemetry logs an exception with its full stack unless it has seen it
    (its request state keeps the exceptions it has seen, compared by identity)."""
    state = scope.get("fastapi.telemetry") if scope is not None else None
    seen = getattr(state, "_exceptions", None)
    if isinstance(seen, list) and not any(e is exc for e in seen):
        seen.append(exc)


def _emit_log_record(report: CrashReport, attributes: dict[str, str]) -> None:
    logs = sys.modules.get("opentelemetry._logs")
    if logs is None or type(logs.get_logger_provider()).__name__ in _UNCONFIGURED:
        return
    attributes = dict(attributes, **{k: v for k, v in report.context.items() if k == "request_id"})
    logs.get_logger("errutil").emit(
        event_name="exception",
        severity_number=logs.SeverityNumber.ERROR,
        severity_text="ERROR",
        body=report_title(report, show_id=False),
        attributes=attributes,
    )
