"""The worker: settings -> logging -> client -> one Worker for all workflows and activities.

SIGTERM (or SIGINT) stops it gracefully: /readyz answers 503 at once, polling stops, and the
activities still running get DSR_WORKER_SHUTDOWN_GRACE_SECONDS to finish. Those that do not
are cancelled, and the SDK reports them to the server as failed ("WorkerShutdown", retryable),
so another worker retries them after their retry policy's backoff instead of waiting for a
timeout. The process exits with 0 once what the cancelled activities left behind has ended
(see `let_leftovers_end`).
"""

from __future__ import annotations

import asyncio
import signal

import structlog

from app.worker_setup import STARTUP_ERRORS, build_activities, create_worker, load_declarations
from infra.client import connect
from infra.config import get_settings
from infra.db import create_engine, sessionmaker
from infra.health import HealthAddressError, WorkerHealth, serve_health
from infra.logging import configure_logging, redact_fields
from infra.metrics import CaseMetrics, prometheus_runtime

log = structlog.get_logger("worker")

# Problems that stop the worker before it starts, with a message that says what to mend.
NOT_STARTED: tuple[type[Exception], ...] = (*STARTUP_ERRORS, HealthAddressError)
# How long a stopped worker waits for cancelled work to end by itself: a database call blocked
# in a driver's thread returns at the latest when its lock wait gives up (SQLite's busy timeout
# is 30 s, infra/db.py).
LEFTOVER_SECONDS = 35.0


async def run_worker() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    # Declarations that do not fit stop the worker before it connects to anything; their
    # personal fields are redacted from the logs wherever they appear as a key.
    redact_fields(load_declarations(settings).personal_fields())
    runtime = prometheus_runtime(settings.metrics_address) if settings.metrics_address else None
    client = await connect(settings, runtime=runtime)
    async with build_activities(settings) as activities:
        worker = create_worker(client, settings, activities)
        health = WorkerHealth(client, worker)
        gauges = None
        if runtime is not None:
            metrics = CaseMetrics(
                runtime.metric_meter,
                sessionmaker(create_engine(settings.register_database_url)),
                client,
            )
            gauges = asyncio.create_task(metrics.run(settings.metrics_interval_seconds))
            log.info("metrics served", metrics_url=f"http://{settings.metrics_address}/metrics")
        # Until here a signal ends the process the default way: nothing runs yet.
        stop = asyncio.Event()
        received: list[str] = []

        def on_signal(sig: signal.Signals) -> None:
            received.append(sig.name)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, on_signal, sig)
        async with serve_health(health, settings.worker_health_address):
            async with worker:
                log.info(
                    "worker started",
                    task_queue=settings.task_queue,
                    namespace=settings.temporal_namespace,
                    temporal_address=settings.temporal_address,
                    identity=client.identity,
                    max_concurrent_activities=settings.worker_max_concurrent_activities,
                    max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
                )
                await stop.wait()
                health.mark_stopping()
                log.info(
                    "worker stopping",
                    signal=received[0] if received else None,
                    grace_seconds=settings.worker_shutdown_grace_seconds,
                )
            # Leaving the block shut the worker down: polling stopped, running activities
            # finished or, after the grace period, were cancelled and handed back.
        if gauges is not None:
            gauges.cancel()
    await let_leftovers_end(LEFTOVER_SECONDS)
    log.info("worker stopped")


async def let_leftovers_end(timeout: float) -> None:
    """Wait for tasks that a cancelled activity left behind to end by themselves.

    An activity cancelled at the end of the grace period can leave a task that cannot end
    before its database driver's thread returns (aiosqlite, a reader waiting for a lock).
    `asyncio.run` would cancel it once more; SQLAlchemy then force-closes the aiosqlite
    connection while its graceful close is still queued behind the blocked call, the thread
    stops at the first of the two, the other is never answered, and the process never exits.
    Waiting lets the connection close normally once the call returns.
    """
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    if not leftovers:
        return
    log.info("waiting for cancelled work to end", tasks=len(leftovers))
    _, pending = await asyncio.wait(leftovers, timeout=timeout)
    if pending:
        log.warning("cancelled work still running at exit", tasks=len(pending))


def main() -> None:
    try:
        asyncio.run(run_worker())
    except NOT_STARTED as error:
        raise SystemExit(f"worker not started: {error}") from None


if __name__ == "__main__":
    main()
