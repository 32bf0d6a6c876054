"""Prometheus metrics for one app: request counts and latencies, and the corpus size.

Each app gets its own `CollectorRegistry`, so several apps in one process (tests) never
share counters. Routes are labelled by their template (`/documents/{doc_id}`), and paths
that match no route by `unmatched`, so a scanner cannot blow up the label cardinality.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi import StatusRecorder

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "unmatched"


class Metrics:
    """The app's collectors and their text rendering."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qa_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "Time from request to the end of the response, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.documents = Gauge("qa_documents", "Stored documents.", registry=self.registry)
        self.paragraphs = Gauge("qa_paragraphs", "Stored paragraphs.", registry=self.registry)
        self.index_size = Gauge("qa_index_vectors", "Vectors in the dense index.", registry=self.registry)
        self.recall = Gauge(
            "qa_index_recall",
            "Sampled recall@10 of the approximate (HNSW) index against exact search (PostgreSQL backend).",
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def render(self, health: dict[str, object]) -> bytes:
        """The Prometheus text, with the corpus gauges taken from `service.health()`."""
        for gauge, key in (
            (self.documents, "documents"),
            (self.paragraphs, "paragraphs"),
            (self.index_size, "index_size"),
            (self.recall, "recall"),
        ):
            value = health.get(key)
            if isinstance(value, int | float):
                gauge.set(value)
        return generate_latest(self.registry)


def _plain_route(scope: Scope) -> str | None:
    """The path of the app's own non-API route or mount (/openapi.json, /docs, /static) matching.

    FastAPI marks the matched API route in `scope["route"]`; these others it does not.
    """
    for route in getattr(scope.get("app"), "routes", ()):
        path = getattr(route, "path", None)
        if path is not None and route.matches(scope)[0] is Match.FULL:
            return path
    return None


class MetricsMiddleware:
    """Times every HTTP request and counts it under its route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        plain_route = _plain_route(scope)
        recorder = StatusRecorder(send)
        try:
            await self.app(scope, receive, recorder)
        finally:
            route = getattr(scope.get("route"), "path", None) or plain_route or UNMATCHED
            self.metrics.observe(route, scope["method"], recorder.status, time.perf_counter() - started)
