"""Prometheus metrics (prometheus-client): request latency by route, the group-commit writers' queue depth
and batch sizes, the scheduler's lag. Labels are route templates and names, never paths or values, so no
personal data (and no unbounded label set) reaches the metrics.

With several worker processes each keeps its own registry; scrape each worker (or run one per port).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "fangkong_http_request_duration_seconds", "Time to answer a request, by route template and method",
    ("method", "route", "status"), registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
REQUESTS_IN_FLIGHT = Gauge("fangkong_http_requests_in_flight", "Requests being answered", registry=REGISTRY)
DISCONNECTS = Counter("fangkong_http_client_disconnects_total",
                      "Requests whose client went away before the answer (not an error)", ("route",),
                      registry=REGISTRY)
WRITER_QUEUE = Gauge("fangkong_writer_queue_depth", "Rows waiting for a group-commit writer", ("writer",),
                     registry=REGISTRY)
WRITER_BATCH = Histogram("fangkong_writer_batch_rows", "Rows written per group commit", ("writer",),
                         registry=REGISTRY, buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
SCHEDULER_LAG = Gauge("fangkong_scheduler_lag_seconds",
                      "How late each job ran against its period (0: on time)", ("job",), registry=REGISTRY)
SCHEDULER_FAILURES = Counter("fangkong_scheduler_job_failures_total", "Scheduler jobs that raised", ("job",),
                             registry=REGISTRY)


def watch_queue(name: str, depth: Callable[[], int]) -> None:
    """Report a writer's queue depth whenever metrics are scraped."""
    WRITER_QUEUE.labels(name).set_function(depth)


def route_of(scope: Mapping[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("fast_route")
    return str(path) if path else ("static" if scope.get("path", "").startswith("/static/") else "unmatched")


class MetricsMiddleware:
    """The outermost ASGI layer: times every request, by the route template that answered it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def watching(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, watching)
        finally:
            REQUESTS_IN_FLIGHT.dec()
            REQUEST_SECONDS.labels(scope["method"], route_of(scope), f"{status // 100}xx").observe(
                time.perf_counter() - started)
