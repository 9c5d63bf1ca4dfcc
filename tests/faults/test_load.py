"""Load, small: requests of every kind submitted at once, each driven to its end by its handler;
none lost, none duplicated, the case register agreeing with Temporal on every case. Real dev
server, real SQLite, an in-process worker. `make bench` runs the same with 500 requests.

Each GDPR request has a synthetic subject of its own, added to this test's copy of the demo
systems (bench/load.py); some are submitted twice at the same moment. The register is the
test's own, so that it can show the check finds a register out of step with Temporal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.client import Client

from app.worker_setup import build_activities, create_worker
from bench.check import check
from bench.drive import drive_load
from bench.load import KINDS, plan_requests, subjects_needed
from bench.seed import seed_subjects, synthetic_subjects
from contract.case import Outcome
from demo.systems import seed_demo_systems
from infra.config import Settings
from infra.db import Case, CaseCounter, create_engine, create_schema
from tests.databases import database_url, system_urls

pytestmark = pytest.mark.asyncio(loop_scope="session")

PER_KIND = 3
OWN_NUMBERS_FROM = 900_000


@pytest_asyncio.fixture(loop_scope="session")
async def own_register(
    client: Client, settings: Settings, tmp_path: Path
) -> AsyncIterator[Settings]:
    """A worker over a private copy of the demo systems and a case register of its own."""
    urls = system_urls(tmp_path / "own")
    await seed_demo_systems(urls)
    register = database_url(tmp_path / "register", "register")
    engine = create_engine(register)
    try:
        await create_schema(engine)
        # Case numbers are workflow ids on the session's dev server, which the session's
        # register numbers from 1: this register numbers from far above, in either year.
        this_year = datetime.now(UTC).year
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(CaseCounter.__table__),
                [{"year": year, "last": OWN_NUMBERS_FROM} for year in (this_year, this_year + 1)],
            )
    finally:
        await engine.dispose()
    custom = settings.model_copy(update={"system_urls": urls, "register_url": register})
    async with build_activities(custom) as activities, create_worker(client, custom, activities):
        yield custom


async def test_requests_of_every_kind_at_once_end_once_each_and_agree(
    client: Client, own_register: Settings
) -> None:
    requests = PER_KIND * len(KINDS)
    subjects = synthetic_subjects(subjects_needed(requests))
    await seed_subjects(own_register.system_urls, subjects)
    plan = plan_requests(requests, subjects, twice_every=3)

    run = await drive_load(client, own_register, plan, timeout=90, poll_seconds=0.25)
    result = await check(client, own_register, run)

    assert result.problems == []
    assert result.submitted == requests and result.completed == requests
    assert (result.lost, result.duplicated, result.mismatched, result.unexpected) == (0, 0, 0, 0)
    assert {kind: count.completed for kind, count in result.per_kind.items()} == {
        kind.value: PER_KIND for kind in KINDS
    }
    assert result.submitted_twice > 0, "some requests were submitted twice at once"
    assert result.passed

    # The check is not blind: a register put out of step with Temporal is found, case by case.
    gdpr = [r.case_number for r in run.requests if r.request.subject_id and r.case_number]
    wrong_outcome, twice, elsewhere = gdpr[:3]
    engine = create_engine(own_register.register_database_url)
    try:
        async with engine.begin() as conn:
            cases = Case.__table__
            await conn.execute(
                sa.update(cases)
                .where(cases.c.case_number == wrong_outcome)
                .values(outcome=Outcome.REFUSED.value)
            )
            copied = (
                (await conn.execute(sa.select(cases).where(cases.c.case_number == twice)))
                .mappings()
                .one()
            )
            await conn.execute(
                sa.insert(cases).values(
                    {**copied, "case_number": "DSR-1999-000001", "intake_id": "intake-other"}
                )
            )
            await conn.execute(
                sa.update(cases)
                .where(cases.c.case_number == elsewhere)
                .values(intake_id="intake-unknown")
            )
    finally:
        await engine.dispose()

    found = await check(client, own_register, run)
    assert (found.lost, found.duplicated, found.mismatched) == (1, 1, 1)
    assert not found.passed
    assert any(p.startswith(f"{wrong_outcome}: mismatched: outcome") for p in found.problems)
    assert any(twice in p and "duplicated" in p for p in found.problems)
    assert any(p.startswith(f"{elsewhere}: lost") for p in found.problems)
