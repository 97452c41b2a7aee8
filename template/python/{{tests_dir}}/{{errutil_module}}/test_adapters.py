"""Adapters, each with its real library: structlog, logging, loguru, Prometheus, OpenTelemetry."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ._subject import (
    CrashFormatter,
    StructlogProcessor,
    emit,
    errutil,
    loguru_patcher,
    prometheus_counter,
)
from .appcode import repo
from .helpers import crash, shown


@pytest.fixture
def errutil_records() -> Iterator[list[logging.LogRecord]]:
    """Records the errutil logger emits, kept for feeding to a formatter or processor."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    errutil_logger = logging.getLogger("errutil")
    errutil_logger.addHandler(handler)
    yield records
    errutil_logger.removeHandler(handler)


def test_structlog_processor_json_turns_a_crash_record_into_the_fields(
    errutil_records: list[logging.LogRecord],
) -> None:
    report = errutil.log_exception(crash(), origin="http", http={"method": "GET", "path": "/x"})
    [record] = errutil_records
    event = StructlogProcessor("json")(
        None, "error", {"event": record.getMessage(), "_record": record}
    )
    assert event["event"] == "crash"
    assert event["error_id"] == report.error_id
    assert event["error"] == {"type": "KeyError", "message": "'zz'"}
    assert event["stack"][0]["function"] == "load_order"
    assert event["http"] == {"method": "GET", "path": "/x"}


def test_structlog_processor_console_splits_title_and_frames(
    errutil_records: list[logging.LogRecord],
) -> None:
    report = errutil.log_exception(crash(), origin="main")
    [record] = errutil_records
    event = StructlogProcessor("console")(None, "error", {"event": "x", "_record": record})
    assert event["event"] == f"KeyError: 'zz'  [error_id={report.error_id}]"
    assert event["exception"].splitlines()[0].startswith(f"  at {shown(repo)}:")


def test_structlog_processor_replaces_structlogs_traceback_for_log_exception() -> None:
    pytest.importorskip("structlog")
    import structlog

    output = io.StringIO()
    log = structlog.wrap_logger(
        structlog.PrintLogger(output),
        processors=[StructlogProcessor("json"), structlog.processors.JSONRenderer()],
    )
    try:
        repo.load_order("zz")
    except KeyError:
        log.exception("order lookup failed", order="zz")
    [line] = output.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "order lookup failed"
    assert event["order"] == "zz"
    assert event["error"] == {"type": "KeyError", "message": "'zz'"}
    assert event["stack"][0]["function"] == "load_order"
    assert "exception" not in event
    assert "exc_info" not in event


def test_structlog_processor_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode must be 'json' or 'console', not 'xml'"):
        StructlogProcessor("xml")


def test_stdlib_formatter_text_shortens_exc_info() -> None:
    try:
        repo.load_order("zz")
    except KeyError:
        record = logging.LogRecord(
            "app", logging.ERROR, __file__, 1, "lookup failed", None, __import__("sys").exc_info()
        )
    text = CrashFormatter("%(levelname)s %(message)s").format(record)
    lines = text.splitlines()
    assert lines[0] == "ERROR lookup failed"
    assert lines[1].startswith("KeyError: 'zz'  [error_id=")
    assert lines[2].startswith(f"  at {shown(repo)}:")
    assert "Traceback" not in text


def test_stdlib_formatter_json_gives_one_object_per_record(
    errutil_records: list[logging.LogRecord],
) -> None:
    report = errutil.log_exception(crash(), origin="thread", context={"thread": "w1"})
    [record] = errutil_records
    line = CrashFormatter(as_json=True).format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["event"] == "crash"
    assert data["error_id"] == report.error_id
    assert data["thread"] == "w1"
    assert data["logger"] == "errutil"
    plain = logging.LogRecord("app", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    assert json.loads(CrashFormatter(as_json=True).format(plain))["event"] == "hello you"


def test_loguru_patcher_replaces_the_traceback() -> None:
    pytest.importorskip("loguru")
    from loguru import logger as loguru_logger

    output = io.StringIO()
    sink = loguru_logger.add(output, format="{message}", backtrace=False, diagnose=False)
    patched = loguru_logger.patch(loguru_patcher)
    try:
        try:
            repo.load_order("zz")
        except KeyError:
            patched.exception("lookup failed")
    finally:
        loguru_logger.remove(sink)
    lines = output.getvalue().splitlines()
    assert lines[0] == "lookup failed"
    assert lines[1].startswith("KeyError: 'zz'  [error_id=")
    assert lines[2].startswith(f"  at {shown(repo)}:")
    assert "Traceback" not in output.getvalue()


def test_loguru_patcher_puts_the_fields_in_extra() -> None:
    pytest.importorskip("loguru")
    from loguru import logger as loguru_logger

    records: list[Any] = []
    sink = loguru_logger.add(lambda message: records.append(message.record), format="{message}")
    try:
        try:
            repo.load_order("zz")
        except KeyError:
            loguru_logger.patch(loguru_patcher).exception("lookup failed")
    finally:
        loguru_logger.remove(sink)
    [record] = records
    crash_fields = record["extra"]["crash"]
    assert crash_fields["error"] == {"type": "KeyError", "message": "'zz'"}
    assert record["exception"] is None


def test_prometheus_counter_counts_by_origin_only() -> None:
    pytest.importorskip("prometheus_client")
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    prometheus_counter(registry)
    try:
        errutil.log_exception(crash(), origin="http")
        errutil.log_exception(crash(), origin="http")
        errutil.log_exception(crash(), origin="task")
        errutil.log_exception(crash(), origin="made-up-by-a-caller")
    finally:
        emit._listeners.pop()
    assert registry.get_sample_value("crashes_total", {"origin": "http"}) == 2
    assert registry.get_sample_value("crashes_total", {"origin": "task"}) == 1
    assert registry.get_sample_value("crashes_total", {"origin": "other"}) == 1
    [metric] = [m for m in registry.collect() if m.name == "crashes"]
    assert {tuple(s.labels) for s in metric.samples} == {("origin",)}


def test_opentelemetry_ids_are_carried_when_a_span_is_active() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        report = errutil.capture(crash())
    context = span.get_span_context()
    data = report.to_dict()
    assert data["trace_id"] == format(context.trace_id, "032x")
    assert data["span_id"] == format(context.span_id, "016x")
    assert trace.get_current_span().get_span_context().is_valid is False
    assert "trace_id" not in errutil.capture(crash()).to_dict()
