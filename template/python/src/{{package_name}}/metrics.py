"""Prometheus metrics on ``/metrics``, with errutil's crash counter.

``crashes_total{origin}`` counts every crash errutil reports, repeats included (the log
shows a repeated crash once, the counter shows how often). Its only label has a small fixed
set of values, so a storm of distinct crashes adds no series; the fingerprint is in the log.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from .errutil.adapters import prometheus_counter

__all__ = ["CRASHES", "router"]

CRASHES = prometheus_counter(REGISTRY)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Every metric of the process in Prometheus' text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
