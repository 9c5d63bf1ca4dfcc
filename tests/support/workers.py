"""Worker processes for tests: started as `python worker.py` on a test's task queue, their
health asked, a system's database held so that collection blocks, the collect activity found
(the worker-lifecycle and fault tests share these)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowHandle

from infra.config import Settings
from tests.helpers import engine_env, free_port

WORKER = Path(__file__).resolve().parents[2] / "worker.py"
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
