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
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowHandle

from app.worker_setup import create_worker
from dsr.config import Settings
from dsr.health import WorkerHealth, serve_health
from dsr.models import CaseResult, CaseState
from systems.demo import DEMO_SUBJECTS
from tests.helpers import engine_env, free_port, submit_access, wait_for_state

pytestmark = pytest.mark.asyncio(loop_scope="session")

WORKER = Path(__file__).resolve().parent.parent / "worker.py"
GRACE_SECONDS = 2
# The collect activity's heartbeat timeout (workflows/access.py): a dead worker's activity
# would be retried only after this; a stopped one's must be retried well before.
HEARTBEAT_TIMEOUT_SECONDS = 30
T = TypeVar("T")


async def until(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 20) -> T:
    """Poll `check` until it gives a value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value is not None:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def probe(url: str) -> tuple[int, dict[str, Any]] | None:
    """An endpoint's status and JSON body, or None when nothing answers."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url) as response,
        ):
            return response.status, await response.json()
    except aiohttp.ClientConnectionError:
        return None


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    health_url: str
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text()

    async def ready(self) -> bool | None:
        if self.process.returncode is not None:
            raise AssertionError(f"worker exited early:\n{self.log()}")
        answer = await probe(f"{self.health_url}/readyz")
        return True if answer is not None and answer[0] == 200 else None


@asynccontextmanager
async def worker_processes(
    client: Client, settings: Settings, count: int
) -> AsyncIterator[list[WorkerProcess]]:
    """`count` worker processes (`python worker.py`) on the settings' task queue, ready; any
    still running afterwards is killed."""
    env = {
        **engine_env(client, settings),
        "DSR_SYSTEM_URLS": json.dumps(settings.system_urls),
        "DSR_METRICS_ADDRESS": "",
        "DSR_WORKER_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        "DSR_LOG_FORMAT": "json",
    }
    started: list[WorkerProcess] = []
    async with AsyncExitStack() as stack:
        for number in range(count):
            address = f"127.0.0.1:{free_port()}"
            log_file = settings.var_dir / f"worker-{number}.log"
            output = stack.enter_context(log_file.open("wb"))
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                env={**env, "DSR_WORKER_HEALTH_ADDRESS": address},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            started.append(WorkerProcess(process, f"http://{address}", log_file))
        try:
            for worker in started:
                await until(worker.ready, "a worker to be ready", timeout=30)
            yield started
        finally:
            for worker in started:
                if worker.process.returncode is None:
                    worker.process.kill()
                    await worker.process.wait()


@asynccontextmanager
async def readers_blocked(url: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Hold a lock on the database at `url` that makes every reader wait; give `release`.

    SQLite: the exclusive lock on the file, which readers wait for in rollback-journal mode
    (not in WAL mode, hence the check). PostgreSQL: ACCESS EXCLUSIVE on every table.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        connection = sqlite3.connect(parsed.database, isolation_level=None)
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            connection.execute("BEGIN EXCLUSIVE")

            async def release_file() -> None:
                connection.rollback()

            yield release_file
        finally:
            connection.close()
        return
    server = await asyncpg.connect(
        parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        tables = [
            row["tablename"]
            for row in await server.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        quoted = ", ".join(f'"{table}"' for table in tables)
        await server.execute("BEGIN")
        await server.execute(f"LOCK TABLE {quoted} IN ACCESS EXCLUSIVE MODE")

        async def release_tables() -> None:
            await server.execute("ROLLBACK")

        yield release_tables
    finally:
        await server.close()


async def the_one_running_collect(handle: WorkflowHandle[Any, Any]) -> PendingActivityInfo | None:
    """The only collect activity still pending, once the others have finished and it runs."""
    description = await handle.describe()
    collects = [
        activity
        for activity in description.raw_description.pending_activities
        if activity.activity_type.name == "collect"
    ]
    if (
        len(collects) == 1
        and collects[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    ):
        return collects[0]
    return None


def pid_of(identity: str) -> int:
    """The process id in the SDK's default worker identity, "<pid>@<host>"."""
    return int(identity.split("@", 1)[0])


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
