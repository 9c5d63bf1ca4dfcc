"""The case register's migrations: they build what the models describe, take a register from
before migrations or from an older revision up to date without losing a row, and a worker
refuses to start on a schema that is behind, saying what to run. On SQLite and, under
`make test-postgres`, on PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from dsr import schema
from dsr.config import Settings
from dsr.db import Base, Case, create_engine, create_schema
from dsr.worker_setup import build_activities
from tests.databases import database_url
from tests.helpers import STARTER, Cli

pytestmark = pytest.mark.asyncio(loop_scope="session")
WORKER = STARTER.parent / "worker.py"


async def differences(engine: AsyncEngine) -> list[object]:
    def compare(conn: sa.Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def one_case(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Case.__table__).values(
                case_number="DSR-2026-000001",
                kind="access",
                received_at=now,
                channel="letter",
                deadline=date(2026, 12, 28),
                state="registered",
                subject_ref="r" * 64,
                intake_id="intake-1",
                created_at=now,
            )
        )


async def before_migrations(url: str) -> AsyncEngine:
    """A register as the engine made it before migrations: the tables, no revision."""
    engine = create_engine(url)
    await schema.upgrade(engine, "0001")
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE alembic_version"))
    return engine


async def test_the_migrations_build_what_the_models_describe(tmp_path: Path) -> None:
    engine = create_engine(database_url(tmp_path, "register"))
    try:
        await create_schema(engine)
        assert await differences(engine) == []
        found = await schema.state(engine)
        assert found.up_to_date and found.current == schema.head()
        # Again: nothing to do.
        before, after = await schema.upgrade(engine)
        assert before.current == after.current == schema.head()
    finally:
        await engine.dispose()


async def test_a_register_from_before_migrations_is_upgraded_with_its_rows(
    tmp_path: Path, client: Client, settings: Settings
) -> None:
    url = database_url(tmp_path, "old")
    engine = await before_migrations(url)
    try:
        await one_case(engine)
        old = settings.model_copy(update={"register_url": url})
        with pytest.raises(schema.SchemaError, match="behind .*from before migrations.*db upgrade"):
            async with build_activities(old):
                pass
        cli = Cli(client, old)
        code, out, _ = await cli.run("db", "current")
        assert code == 1 and "before migrations" in out
        moved = await cli.json("db", "upgrade")
        assert moved == {"from": None, "to": schema.head(), "head": schema.head()}
        assert await differences(engine) == []
        async with engine.connect() as conn:
            kept = await conn.scalar(sa.select(Case.intake_id))
        assert kept == "intake-1"
        async with build_activities(old) as activities:
            assert activities
    finally:
        await engine.dispose()


async def test_a_worker_refuses_a_register_that_is_behind_and_says_what_to_run(
    tmp_path: Path, client: Client, settings: Settings
) -> None:
    url = database_url(tmp_path, "behind")
    engine = create_engine(url)
    try:
        await schema.upgrade(engine, "0001")
        with pytest.raises(schema.SchemaError) as refused:
            await schema.require_current(engine)
        assert f"at 0001, the code needs {schema.head()}" in str(refused.value)
    finally:
        await engine.dispose()
    env = {
        **Cli(client, settings).env,
        "DSR_REGISTER_URL": url,
        "DSR_METRICS_ADDRESS": "",
        "DSR_WORKER_HEALTH_ADDRESS": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "worker not started" in err.decode()
    assert "python starter.py db upgrade" in err.decode()


async def test_an_empty_database_is_refused_until_migrated(tmp_path: Path) -> None:
    engine = create_engine(database_url(tmp_path, "empty"))
    try:
        with pytest.raises(schema.SchemaError, match="no schema yet"):
            await schema.require_current(engine)
        await schema.upgrade(engine)
        await schema.require_current(engine)
    finally:
        await engine.dispose()
