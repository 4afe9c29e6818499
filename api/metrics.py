"""Prometheus metrics, held in a registry owned by the app (no module globals)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

access = logging.getLogger("guideqa.access")


class Metrics:
    """Request counts and latency per route, answers, abstentions and the index version."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "guideqa_http_requests_total",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "guideqa_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.answers = Counter("guideqa_answers_total", "Answers composed", registry=self.registry)
        self.abstentions = Counter(
            "guideqa_abstentions_total", "Answers that abstained", registry=self.registry
        )
        self.index_version = Gauge(
            "guideqa_index_info", "Loaded index version", ["version"], registry=self.registry
        )

    def set_index_version(self, version: str) -> None:
        """Expose the loaded index version as a labelled gauge."""
        self.index_version.clear()
        self.index_version.labels(version=version).set(1)

    def render(self) -> Response:
        """The exposition text."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def install(self, app: FastAPI) -> None:
        """Count and time every request by its route template (not its raw path)."""

        @app.middleware("http")
        async def _measure(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            start = time.perf_counter()
            status = 500  # an exception that escapes is answered 500 by the outer layer
            try:
                response = await call_next(request)
                status = response.status_code
                return response
            finally:
                route = request.scope.get("route")
                name = getattr(route, "path", "unmatched")
                elapsed = time.perf_counter() - start
                self.requests.labels(name, request.method, str(status)).inc()
                self.latency.labels(name).observe(elapsed)
                access.info(
                    "request",
                    extra={
                        "request_id": getattr(request.state, "request_id", None),
                        "method": request.method,
                        "route": name,
                        "status": status,
                        "ms": round(elapsed * 1000, 1),
                    },
                )
