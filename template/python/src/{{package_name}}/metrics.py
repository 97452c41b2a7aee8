"""Prometheus metrics on ``/metrics``: errutil's crash counter and the request metrics.

``http_requests_total{method,route,status}`` and ``http_request_duration_seconds{method,route}``
are fed by access.RequestMiddleware; ``route`` is the route template (``unmatched`` when no
route matched), so clients cannot add series by sending new paths.

``crashes_total{origin}`` counts every crash errutil reports, repeats included (the log
shows a repeated crash once, the counter shows how often). Its only label has a small fixed
set of values, so a storm of distinct crashes adds no series; the fingerprint is in the log.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

from .errutil.adapters import prometheus_counter

__all__ = ["CRASHES", "HTTP_DURATION", "HTTP_REQUESTS", "router"]

CRASHES = prometheus_counter(REGISTRY)
HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by route and status.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route.",
    ["method", "route"],
)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Every metric of the process in Prometheus' text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
