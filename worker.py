"""The worker: settings -> logging -> client -> one Worker for all workflows and activities."""

from __future__ import annotations

import asyncio
import signal

import structlog

from dsr.client import connect
from dsr.config import get_settings
from dsr.db import create_engine, sessionmaker
from dsr.logging import configure_logging
from dsr.metrics import CaseMetrics, prometheus_runtime
from dsr.worker_setup import STARTUP_ERRORS, build_activities, create_worker

log = structlog.get_logger("worker")


async def run_worker() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    runtime = prometheus_runtime(settings.metrics_address) if settings.metrics_address else None
    client = await connect(settings, runtime=runtime)
    async with build_activities(settings) as activities:
        worker = create_worker(client, settings, activities)
        gauges = None
        if runtime is not None:
            metrics = CaseMetrics(
                runtime.metric_meter,
                sessionmaker(create_engine(settings.register_database_url)),
                client,
            )
            gauges = asyncio.create_task(metrics.run(settings.metrics_interval_seconds))
            log.info("metrics served", address=f"http://{settings.metrics_address}/metrics")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "worker started", task_queue=settings.task_queue, address=settings.temporal_address
        )
        async with worker:
            await stop.wait()
            log.info("worker stopping")
        if gauges is not None:
            gauges.cancel()
    log.info("worker stopped")


def main() -> None:
    try:
        asyncio.run(run_worker())
    except STARTUP_ERRORS as error:
        raise SystemExit(f"worker not started: {error}") from None


if __name__ == "__main__":
    main()
