"""Rate limits per caller and Prometheus metrics per route.

A caller (a signed-in login, or a client acting on its own behalf) gets DSR_SERVICE_RATE_LIMIT
calls in a moving window (`limits`, in memory: one service process, one count); past it, 429
with Retry-After. Metrics count calls and time them by route template (never a case number in
a label), method and status: `dsr_service_requests_total` and
`dsr_service_request_duration_seconds`, at GET /metrics.
"""

from __future__ import annotations

import time

import limits
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import Scope

from service.problems import Problem

# Methods counted by name; any other is "other" (a label per made-up method would grow forever).
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# Latency buckets for an API whose calls wait on Temporal (seconds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RateLimit:
    def __init__(self, rule: str) -> None:
        try:
            self.item = limits.parse(rule)
        except ValueError:
            raise ValueError(
                f"DSR_SERVICE_RATE_LIMIT: not a rate such as 600/minute: {rule!r}"
            ) from None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def check(self, caller: str) -> None:
        if await self._limiter.hit(self.item, caller):
            return
        stats = await self._limiter.get_window_stats(self.item, caller)
        wait = max(1, int(stats.reset_time - time.time()) + 1)
        raise Problem(
            429,
            f"too many calls: at most {self.item.amount} per {self.item.multiples} "
            f"{self.item.GRANULARITY.name}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dsr_service_requests",
            "Calls to the case service, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "dsr_service_request_duration_seconds",
            "Time to answer a call, by route template and method.",
            ["route", "method"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        method = scope.get("method", "")
        method = method if method in METHODS else "other"
        self.requests.labels(route, method, str(status)).inc()
        self.duration.labels(route, method).observe(seconds)

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
