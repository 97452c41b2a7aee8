"""Prometheus metrics on ``/metrics``, with errutil's crash counter.

``crashes_total{origin, fingerprint}`` counts every crash errutil reports, repeats
included (the log shows a repeated crash once, the counter shows how often).
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
