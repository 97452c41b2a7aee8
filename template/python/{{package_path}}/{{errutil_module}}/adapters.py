"""Adapters: errutil's reports in structlog, stdlib logging, loguru and Prometheus.

Each imports its library only when called, so errutil itself stays standard-library only.

- `StructlogProcessor`: turns a record carrying a report into the JSON fields (json) or
  the short text (console), and replaces structlog's own traceback formatting for
  ``log.exception(...)`` calls (``exc_info``).
- `CrashFormatter`: a ``logging.Formatter`` doing the same for plain stdlib logging.
- `loguru_patcher`: ``logger.configure(patcher=loguru_patcher)``.
- `prometheus_counter`: a Counter of crashes by origin (a small fixed set of series).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import MutableMapping

from ._types import CrashReport
from .emit import add_listener
from .render import exception_attributes, info_dict
from .report import capture

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from typing import Any

    from prometheus_client import CollectorRegistry, Counter

__all__ = ["CrashFormatter", "StructlogProcessor", "loguru_patcher", "prometheus_counter"]


def report_of(record: logging.LogRecord | None) -> CrashReport | None:
    """The report errutil attached to a log record, if any."""
    report = getattr(record, "crash_report", None)
    return report if isinstance(report, CrashReport) else None


def exception_of(exc_info: object) -> BaseException | None:
    """The exception in an ``exc_info`` value: True, an exception, or a sys.exc_info() tuple."""
    if exc_info is True:
        return sys.exc_info()[1]
    if isinstance(exc_info, BaseException):
        return exc_info
    if (
        isinstance(exc_info, tuple)
        and len(exc_info) == 3
        and isinstance(exc_info[1], BaseException)
    ):
        return exc_info[1]
    return None


def exception_fields(report: CrashReport) -> dict[str, object]:
    """The report's fields for a log line that keeps its own event and level."""
    fields: dict[str, object] = {"error_id": report.error_id}
    fields.update(info_dict(report.error))
    fields["fingerprint"] = report.fingerprint
    if report.fallback is not None:
        fields["traceback"] = report.fallback
    fields.update(exception_attributes(report))
    return fields


class StructlogProcessor:
    """structlog processor; put it after the level/timestamp processors, before the renderer.

    mode "json": a crash record becomes the report's fields (``event="crash"``), and a
    ``log.exception(...)`` line gets ``error`` / ``stack`` / ... instead of a traceback.
    mode "console": ``event`` is the report's first line and ``exception`` the rest,
    which structlog's ConsoleRenderer prints below it.
    """

    def __init__(self, mode: str = "json") -> None:
        if mode not in ("json", "console"):
            raise ValueError(f"mode must be 'json' or 'console', not {mode!r}")
        self.mode = mode

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        record = event_dict.get("_record")
        report = event_dict.pop("crash_report", None)
        if not isinstance(report, CrashReport):
            report = report_of(record)
        if report is not None:
            event_dict.pop("exc_info", None)
            if self.mode == "json":
                event_dict.update(report.to_dict())
            else:
                self._set_text(event_dict, report.text())
            return event_dict
        fields = getattr(record, "crash_fields", None)
        if isinstance(fields, dict) and self.mode == "json":
            event_dict.update(fields)
            return event_dict
        exc = exception_of(event_dict.pop("exc_info", None))
        if exc is not None:
            report = capture(exc, origin="log")
            if self.mode == "json":
                event_dict.update(exception_fields(report))
            else:
                event_dict["exception"] = report.text()
        return event_dict

    @staticmethod
    def _set_text(event_dict: MutableMapping[str, Any], text: str) -> None:
        title, _, rest = text.partition("\n")
        event_dict["event"] = title
        if rest:
            event_dict["exception"] = rest


class CrashFormatter(logging.Formatter):
    """A stdlib formatter: short tracebacks in text, or one JSON object a line (as_json=True)."""

    def __init__(
        self, fmt: str | None = None, datefmt: str | None = None, *, as_json: bool = False
    ) -> None:
        super().__init__(fmt, datefmt)
        self.as_json = as_json

    def formatException(self, ei: Any) -> str:  # noqa: N802 - stdlib name
        exc = exception_of(ei)
        return capture(exc, origin="log").text() if exc is not None else super().formatException(ei)

    def format(self, record: logging.LogRecord) -> str:
        if not self.as_json:
            return super().format(record)
        line: dict[str, object] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        report = report_of(record)
        fields = getattr(record, "crash_fields", None)
        if report is not None:
            line.update(report.to_dict())
        elif isinstance(fields, dict):
            line.update(fields)
        elif record.exc_info:
            exc = exception_of(record.exc_info)
            if exc is not None:
                line.update(exception_fields(capture(exc, origin="log")))
        return json.dumps(line, default=str)


def loguru_patcher(record: Any) -> None:
    """``logger.configure(patcher=loguru_patcher)``: short tracebacks for ``logger.exception``.

    The report's fields go to ``record["extra"]["crash"]`` (for ``serialize=True`` sinks),
    its text is appended to the message, and loguru's own traceback is switched off.
    """
    found = record.get("exception")
    exc = getattr(found, "value", None)
    if not isinstance(exc, BaseException):
        return
    report = capture(exc, origin="log")
    record["extra"]["crash"] = exception_fields(report)
    record["message"] = f"{record['message']}\n{report.text()}"
    record["exception"] = None


# The origins errutil itself sets; any other (``guard(origin=...)``) is counted as "other",
# so the number of series stays fixed whatever the crashes are.
METRIC_ORIGINS = frozenset(
    ("http", "main", "thread", "task", "unraisable", "guard", "log", "test", "other")
)


def prometheus_counter(registry: CollectorRegistry | None = None, name: str = "crashes") -> Counter:
    """A Counter ``<name>_total{origin}`` fed by every report, repeats included.

    No fingerprint label: each new bug would add a series that is never removed (unbounded
    cardinality). The fingerprint is in every log line; count by it in the log pipeline.
    """
    from prometheus_client import REGISTRY, Counter  # noqa: PLC0415 - optional dependency

    counter = Counter(
        name,
        "Crashes reported by errutil, by origin.",
        ["origin"],
        registry=REGISTRY if registry is None else registry,
    )

    def count(report: CrashReport) -> None:
        origin = report.origin if report.origin in METRIC_ORIGINS else "other"
        counter.labels(origin).inc()

    add_listener(count)
    return counter
