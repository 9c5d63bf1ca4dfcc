"""The worker: settings -> logging -> client -> one Worker for all workflows and activities."""

from __future__ import annotations

import asyncio
import signal

import structlog

from dsr.client import connect
from dsr.config import get_settings
from dsr.logging import configure_logging
from dsr.worker_setup import build_activities, create_worker

log = structlog.get_logger("worker")


async def run_worker() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    client = await connect(settings)
    async with build_activities(settings) as activities:
        worker = create_worker(client, settings, activities)
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
    log.info("worker stopped")


def main() -> None:
    asyncio.run(run_worker())


if __name__ == "__main__":
    main()
