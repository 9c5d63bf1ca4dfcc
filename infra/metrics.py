"""The worker's Prometheus metrics: the Temporal SDK's own, and the engine's.

The SDK's (workflow and activity counts and latencies, task slots, polls) come with the runtime
once Prometheus is configured. The engine adds what a supervisor asks of the service as a
whole: open cases by kind and state (from the case register), overdue open cases (from the
same visibility query as the Web UI), and escalations by step (counted by the workflows when a
step is taken; never during replay). No label holds personal data: kinds, states and steps.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from infra.db import Case

log = structlog.get_logger("metrics")

OPEN_CASES = "dsr_open_cases"
OVERDUE_CASES = "dsr_overdue_cases"
OVERDUE_QUERY = 'DsrEscalation="overdue" AND ExecutionStatus="Running"'


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime that serves its metrics at http://`bind_address`/metrics."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


class CaseMetrics:
    """Gauges of the open cases, refreshed every `interval` seconds while the worker runs."""

    def __init__(
        self,
        meter: MetricMeter,
        sessions: async_sessionmaker[AsyncSession],
        client: Client,
    ) -> None:
        self._open = meter.create_gauge(OPEN_CASES, "Open cases by kind and state")
        self._overdue = meter.create_gauge(OVERDUE_CASES, "Open cases past their deadline")
        self._sessions = sessions
        self._client = client
        self._seen: set[tuple[str, str]] = set()

    async def refresh(self) -> None:
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Case.kind, Case.state, func.count())
                    .where(Case.closed_at.is_(None))
                    .group_by(Case.kind, Case.state)
                )
            ).all()
        counts = {(str(kind), str(state)): int(n) for kind, state, n in rows}
        # A kind and state that emptied must read 0, not keep its last count.
        for kind, state in self._seen | set(counts):
            self._open.set(counts.get((kind, state), 0), {"kind": kind, "state": state})
        self._seen |= set(counts)
        overdue = await self._client.count_workflows(OVERDUE_QUERY)
        self._overdue.set(overdue.count)

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # a register or server hiccup: try again next time
                log.warning("case metrics not refreshed", error=type(error).__name__)
            await asyncio.sleep(interval)
