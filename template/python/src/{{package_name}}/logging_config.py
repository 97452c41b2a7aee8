"""Logging set-up: structlog in front, stdlib logging underneath, one format for every line.

``json`` (default): every line the process writes is one JSON object: the service's own
structlog lines, uvicorn's start-up and access lines, any library's stdlib logging, and
errutil's crash reports (their fields: error_id, error, stack, ...). ``console``: human
lines, and crash reports in errutil's short text form.
"""

from __future__ import annotations

import logging
import sys

import structlog

from .errutil.adapters import StructlogProcessor

__all__ = ["configure_logging"]

# uvicorn configures these itself unless told otherwise; here they only propagate to root.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """Route structlog and stdlib logging through one handler on stdout."""
    if log_format not in ("json", "console"):
        raise ValueError(f"log_format must be 'json' or 'console', not {log_format!r}")
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}")

    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        StructlogProcessor(log_format),
    ]
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        for old in server_logger.handlers[:]:
            server_logger.removeHandler(old)
        server_logger.propagate = True
        server_logger.setLevel(logging.NOTSET)
