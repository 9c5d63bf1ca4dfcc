"""A throwaway stack for a benchmark: its own Temporal dev server (SQLite file in WAL mode, no
UI) on free ports, the demo systems seeded, the case register migrated, and worker processes;
all under a temporary directory, all stopped and removed afterwards.

    async with bench_stack(workers=1) as stack:
        client = stack.client; settings = stack.settings; stack.worker_pids ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client

from contract import search
from contract.roles import Role
from demo.archive import seed_archive
from demo.systems import seed_demo_systems
from infra.binaries import temporal_binary
from infra.client import connect
from infra.config import Settings
from infra.db import create_engine, create_schema
from infra.roster import holding

ROOT = Path(__file__).resolve().parent.parent
# Who acts in the benchmarks: the roster the stack runs with (config/roster.yaml), in its order.
HANDLERS = holding(Settings.model_fields["roster"].default, Role.HANDLER)
TEAM_LEADS = holding(Settings.model_fields["roster"].default, Role.TEAM_LEAD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_for_port(port: int, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise SystemExit(f"{what} did not start within {timeout:.0f} s")


@dataclass
class BenchStack:
    root: Path
    settings: Settings
    client: Client
    env: dict[str, str]
    server: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def server_db(self) -> Path:
        return self.root / "temporal.db"

    def start_worker(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.root / f"worker-{len(self.workers)}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.workers.append(process)
        return process


def stack_env(settings: Settings, temporal_address: str) -> dict[str, str]:
    """The environment a worker or the CLI of this stack runs with."""
    return {
        **os.environ,
        "DSR_ENVIRONMENT": settings.environment,
        "DSR_TEMPORAL_ADDRESS": temporal_address,
        "DSR_TASK_QUEUE": settings.task_queue,
        "DSR_VAR_DIR": str(settings.var_dir),
        "DSR_REGISTER_URL": settings.register_database_url,
        "DSR_DOCUMENT_ARCHIVE_URL": settings.archive_url,
        "DSR_SYSTEM_URLS": json.dumps(settings.all_system_urls()),
        "DSR_SUBJECT_REFERENCE_SECRET": settings.reference_secret,
        "DSR_RELEASE_POLICY": settings.release_policy,
        "DSR_METRICS_ADDRESS": "",
        "DSR_WORKER_HEALTH_ADDRESS": "",
        "DSR_LOG_LEVEL": "warning",
    }


@contextlib.asynccontextmanager
async def bench_stack(
    *,
    workers: int = 1,
    reading_years: int = 2,
    settings_update: dict[str, Any] | None = None,
    seed: bool = True,
) -> AsyncIterator[BenchStack]:
    root = Path(tempfile.mkdtemp(prefix="dsr-bench-"))
    port = free_port()
    address = f"127.0.0.1:{port}"
    settings = Settings(
        environment="development",
        var_dir=root / "var",
        temporal_address=address,
        task_queue=f"bench-{uuid.uuid4().hex[:8]}",
        subject_reference_secret=f"bench-{uuid.uuid4()}",
        **(settings_update or {}),
    )
    server = subprocess.Popen(
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--headless",
            "--db-filename",
            str(root / "temporal.db"),
            "--log-level",
            "error",
            # A write-ahead log and fewer fsyncs: the dev server's rollback journal made it the
            # largest cost per case (145 -> 84 ms of server CPU per case measured). Both sides
            # of every comparison run on the same server.
            *("--sqlite-pragma", "journal_mode=wal"),
            *("--sqlite-pragma", "synchronous=normal"),
            *search.cli_flags(),
        ],
        stdout=(root / "temporal.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack: BenchStack | None = None
    try:
        await wait_for_port(port, "the Temporal dev server")
        if seed:
            await seed_demo_systems(settings.all_system_urls(), reading_years=reading_years)
            await seed_archive(settings.archive_url)
        engine = create_engine(settings.register_database_url)
        try:
            await create_schema(engine)
        finally:
            await engine.dispose()
        client = await connect(settings)
        stack = BenchStack(root, settings, client, stack_env(settings, address), server)
        for _ in range(workers):
            stack.start_worker()
        await asyncio.sleep(1.0)
        yield stack
    finally:
        for process in [*(stack.workers if stack else []), server]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*(stack.workers if stack else []), server]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(root, ignore_errors=True)
