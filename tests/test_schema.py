"""The case register's migrations: they build what the models describe, take a register from
before migrations or from an older revision up to date without losing a row, and a worker
refuses to start on a schema that is behind, saying what to run. On SQLite and, under
`make test-postgres`, on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from app.worker_setup import build_activities
from infra import schema
from infra.config import Settings
from infra.db import Base, Case, create_engine, create_schema
from tests.databases import database_url
from tests.helpers import STARTER, Operator, engine_env

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
        with pytest.raises(
            schema.SchemaError, match="behind .*from before migrations.*infra.migrate upgrade"
        ):
            async with build_activities(old):
                pass
        operator = Operator(client, old)
        code, out, _ = await operator.run("current")
        assert code == 1 and "before migrations" in out
        moved = await operator.json("upgrade")
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
        assert f"(revision 0001, the code needs {schema.head()})" in str(refused.value)
    finally:
        await engine.dispose()
    env = {
        **engine_env(client, settings),
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
    assert "python -m infra.migrate upgrade" in err.decode()


async def test_an_empty_database_is_refused_until_migrated(tmp_path: Path) -> None:
    engine = create_engine(database_url(tmp_path, "empty"))
    try:
        with pytest.raises(schema.SchemaError, match="no schema yet"):
            await schema.require_current(engine)
        await schema.upgrade(engine)
        await schema.require_current(engine)
    finally:
        await engine.dispose()


async def test_a_register_older_than_the_trail_chain_gets_its_tables_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    # A register made before the trail was chained: no audit tables, no revision.
    url = database_url(tmp_path, "older")
    engine = await before_migrations(url)
    try:
        await one_case(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE audit_links"))
            await conn.execute(sa.text("DROP TABLE audit_meta"))
        assert (await schema.state(engine)).unversioned_tables
        await schema.upgrade(engine)
        assert await differences(engine) == []
        async with engine.connect() as conn:
            assert await conn.scalar(sa.select(Case.intake_id)) == "intake-1"
            since = await conn.scalar(sa.text("SELECT count(*) FROM audit_meta"))
        # The chain begins with the upgrade: the old case's rows may stay unlinked.
        assert since == 1
        await schema.require_current(engine)
    finally:
        await engine.dispose()


async def test_a_register_migrated_by_a_newer_version_is_left_alone_with_a_clear_error(
    tmp_path: Path, client: Client, settings: Settings
) -> None:
    url = database_url(tmp_path, "newer")
    engine = create_engine(url)
    try:
        await schema.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
        operator = Operator(client, settings.model_copy(update={"register_url": url}))
        code, out, err = await operator.run("upgrade")
        assert code == 1 and out == ""
        assert err.startswith("error: ") and "newer than this version" in err
        assert "Traceback" not in err
        code, out, _ = await operator.run("current")
        assert code == 1 and "revision 0099" in out and "newer" in out
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0099"
    finally:
        await engine.dispose()


async def test_two_upgrades_at_once_both_succeed_and_migrate_once(
    tmp_path: Path, client: Client, settings: Settings
) -> None:
    # Two deploy jobs started together: one migrates, the other waits and finds nothing to do.
    url = database_url(tmp_path, "race")
    operator = Operator(client, settings.model_copy(update={"register_url": url}))
    answers = await asyncio.gather(*(operator.run("upgrade", "--json") for _ in range(2)))
    assert [code for code, _, _ in answers] == [0, 0], [err for _, _, err in answers]
    moves = sorted(json.loads(out)["from"] or "" for _, out, _ in answers)
    assert moves == ["", schema.head()]
    engine = create_engine(url)
    try:
        assert await differences(engine) == []
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT count(*) FROM audit_meta")) == 1
            assert await conn.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        await engine.dispose()
