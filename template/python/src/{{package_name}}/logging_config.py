"""Logging set-up: structlog in front, stdlib logging underneath, one format for every line.

``json`` (default): every line the process writes is one JSON object: the service's own
structlog lines, uvicorn's start-up and access lines, any library's stdlib logging, and
errutil's crash reports (their fields: error_id, error, stack, ...). ``console``: human
lines, and crash reports in errutil's short text form.

uvicorn's access lines keep the query string's keys but never its values
(``GET /login?user=&token= HTTP/1.1``): tokens and passwords in URLs stay out of the log.
"""

from __future__ import annotations

import logging
import sys

import structlog

from .errutil.adapters import StructlogProcessor

__all__ = ["QueryValuesFilter", "configure_logging"]

# uvicorn configures these itself unless told otherwise; here they only propagate to root.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class QueryValuesFilter(logging.Filter):
    """Drops the values of the query string from uvicorn's access lines, keeps the keys.

    uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with the path and query string as the third
    argument; only that argument changes, so the line keeps its usual shape.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, mark, query = args[2].partition("?")
            if mark:
                record.args = (*args[:2], f"{path}?{_keys_only(query)}", *args[3:])
        return True


def _keys_only(query: str) -> str:
    """``user=bob&token=abc&flag`` -> ``user=&token=``: parts without a key are dropped."""
    return "&".join(
        part.partition("=")[0] + "=" for part in query.split("&") if "=" in part and part[0] != "="
    )


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
    access_logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryValuesFilter) for f in access_logger.filters):
        access_logger.addFilter(QueryValuesFilter())
