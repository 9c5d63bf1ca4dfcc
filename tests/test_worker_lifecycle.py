"""The worker's lifecycle against a real Temporal dev server: its limits and grace period come
from settings, its health endpoint tells probes the truth, and a worker stopped with SIGTERM in
the middle of a collection hands the activity back, so the case goes on on another worker.

Collection is blocked deterministically, without touching the code under test: the demo
systems are SQLite files in rollback-journal mode, so a connection that holds `BEGIN EXCLUSIVE`
on one of them makes every reader wait (the engine's busy timeout is 30 s) until it lets go;
on PostgreSQL (DSR_TEST_POSTGRES_URL) a transaction holding ACCESS EXCLUSIVE on its tables does.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import timedelta

import pytest
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client

from app.worker_setup import create_worker
from contract.case import CaseResult, CaseState
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from infra.health import WorkerHealth, serve_health
from tests.helpers import free_port, submit_access, wait_for_state
from tests.support.workers import (
    GRACE_SECONDS,
    HEARTBEAT_TIMEOUT_SECONDS,
    pid_of,
    probe,
    readers_blocked,
    the_one_running_collect,
    until,
    worker_processes,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_worker_takes_its_limits_and_grace_period_from_settings(
    client: Client, settings: Settings
) -> None:
    custom = settings.model_copy(
        update={
            "worker_max_concurrent_activities": 7,
            "worker_max_concurrent_workflow_tasks": 3,
            "worker_shutdown_grace_seconds": 4.5,
        }
    )
    config = create_worker(client, custom, []).config()
    assert config.get("max_concurrent_activities") == 7
    assert config.get("max_concurrent_workflow_tasks") == 3
    assert config.get("graceful_shutdown_timeout") == timedelta(seconds=4.5)


async def test_readiness_follows_the_worker_and_the_server(
    client: Client, settings: Settings
) -> None:
    worker = create_worker(client, settings, [])
    health = WorkerHealth(client, worker)
    # Nothing listens on this port: a server that cannot be reached.
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    cut_off = WorkerHealth(nowhere, worker)
    address, cut_off_address = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    async with serve_health(health, address), serve_health(cut_off, cut_off_address):
        assert await probe(f"http://{address}/healthz") == (200, {"status": "alive"})
        assert await probe(f"http://{address}/readyz") == (
            503,
            {"status": "starting", "ready": False},
        )
        async with worker:

            async def running() -> bool | None:
                return True if worker.is_running else None

            await until(running, "the worker to run")
            assert await probe(f"http://{address}/readyz") == (
                200,
                {"status": "ready", "ready": True},
            )
            assert await probe(f"http://{cut_off_address}/readyz") == (
                503,
                {"status": "temporal_unreachable", "ready": False},
            )
            health.mark_stopping()
            assert await probe(f"http://{address}/readyz") == (
                503,
                {"status": "stopping", "ready": False},
            )
            assert await probe(f"http://{address}/healthz") == (200, {"status": "alive"})


async def test_a_stopped_worker_hands_its_running_collection_to_another_worker(
    client: Client, settings: Settings
) -> None:
    subject = DEMO_SUBJECTS["tolvan"]
    async with worker_processes(client, settings, 2) as workers:
        for worker in workers:
            assert await probe(f"{worker.health_url}/healthz") == (200, {"status": "alive"})
            assert await probe(f"{worker.health_url}/readyz") == (
                200,
                {"status": "ready", "ready": True},
            )

        async with readers_blocked(settings.system_url("billing")) as release:
            submitted = await submit_access(client, settings, subject, bankid=True)
            handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
            blocked = await until(
                lambda: the_one_running_collect(handle), "billing's collection to block"
            )
            assert blocked.attempt == 1
            by_pid = {worker.process.pid: worker for worker in workers}
            stopped = by_pid.pop(pid_of(blocked.last_worker_identity))
            [other] = by_pid.values()

            stopped.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            async def not_ready() -> bool | None:
                if stopped.process.returncode is not None:
                    return True
                answer = await probe(f"{stopped.health_url}/readyz")
                return True if answer == (503, {"status": "stopping", "ready": False}) else None

            await until(not_ready, "the stopped worker to leave readiness", timeout=GRACE_SECONDS)

            async def retried_elsewhere() -> PendingActivityInfo | None:
                retry = await the_one_running_collect(handle)
                if retry is None or retry.attempt < 2:
                    return None
                return retry if pid_of(retry.last_worker_identity) == other.process.pid else None

            retry = await until(retried_elsewhere, "the collection to be retried elsewhere")
            # Handed back as a retryable failure when the grace period ran out, not found dead
            # at the heartbeat timeout.
            assert retry.last_failure.application_failure_info.type == "WorkerShutdown"
            assert time.monotonic() - signalled < HEARTBEAT_TIMEOUT_SECONDS / 2
            await release()

        review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        assert review.extract is not None
        assert await asyncio.wait_for(stopped.process.wait(), 20) == 0, stopped.log()
        assert await other.ready()

        other.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(other.process.wait(), 20) == 0, other.log()

    stopped_events = [
        json.loads(line) for line in stopped.log().splitlines() if line.startswith("{")
    ]
    assert [e["event"] for e in stopped_events if e["event"].startswith("worker ")] == [
        "worker started",
        "worker stopping",
        "worker stopped",
    ]
    assert {"signal": "SIGTERM", "grace_seconds": GRACE_SECONDS}.items() <= next(
        e for e in stopped_events if e["event"] == "worker stopping"
    ).items()
    for worker in workers:
        log = worker.log()
        assert subject not in log and f"{subject[2:8]}-{subject[8:]}" not in log
        assert "Tolvansson" not in log
