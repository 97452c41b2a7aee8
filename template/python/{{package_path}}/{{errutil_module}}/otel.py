"""OpenTelemetry trace and span ids for a report, when OpenTelemetry is in use.

Nothing is imported: if the service never imported ``opentelemetry.trace`` there is no
active span, and the report simply has no ids.
"""

from __future__ import annotations

import sys

__all__ = ["trace_ids"]


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
