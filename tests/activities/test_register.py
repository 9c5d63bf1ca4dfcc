"""The case register on real SQLite: atomic numbering, one open case per subject and kind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.register import RegisterActivities
from contract.calendar import STOCKHOLM
from contract.case import CaseState, Outcome
from contract.intake import OpenCaseResult, RegisterCaseInput, SubmitRequestInput
from contract.steps import RecordTransitionInput
from contract.vocabulary import Kind
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from infra.db import Case, CaseEvent, create_engine, create_schema, sessionmaker
from tests.databases import database_url

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def own_register(tmp_path: Path) -> str:
    """A register of the test's own (SQLite, or PostgreSQL under make test-postgres)."""
    return database_url(tmp_path, "register")


@pytest_asyncio.fixture(loop_scope="session")
async def register(own_register: str) -> AsyncIterator[RegisterActivities]:
    engine = create_engine(own_register)
    await create_schema(engine)
    yield RegisterActivities(sessionmaker(engine), secret="s")
    await engine.dispose()


def registration(subject: str, intake: str) -> RegisterCaseInput:
    return RegisterCaseInput(
        request=SubmitRequestInput(
            kind=Kind.ACCESS, subject_id=subject, received_at=datetime(2026, 3, 5, tzinfo=UTC)
        ),
        intake_id=intake,
    )


async def open_case(register: RegisterActivities, subject: str, intake: str) -> OpenCaseResult:
    result: OpenCaseResult = await ActivityEnvironment().run(
        register.register_case, registration(subject, intake)
    )
    return result


async def test_concurrent_intakes_get_consecutive_unique_numbers(
    register: RegisterActivities,
) -> None:
    subjects = list(FILLER_SUBJECTS.values()) + list(DEMO_SUBJECTS.values())
    results = await asyncio.gather(
        *(open_case(register, s, f"intake-{i}") for i, s in enumerate(subjects))
    )
    year = datetime.now(STOCKHOLM).year
    numbers = sorted(r.case_number for r in results)
    assert numbers == [f"DSR-{year}-{n:06d}" for n in range(1, len(subjects) + 1)]
    assert all(r.deadline.isoformat() == "2026-04-07" for r in results)


async def test_the_same_subject_racing_gets_one_case(register: RegisterActivities) -> None:
    subject = DEMO_SUBJECTS["tolvan"]
    results = await asyncio.gather(*(open_case(register, subject, f"i{n}") for n in range(8)))
    assert len({r.case_number for r in results}) == 1
    assert sum(not r.existing for r in results) == 1
    # A retry of the intake that created it still sees it as its own.
    winner = next(n for n, r in enumerate(results) if not r.existing)
    retried = await open_case(register, subject, f"i{winner}")
    assert not retried.existing and retried.case_number == results[0].case_number


async def test_the_trail_is_written_once_per_step_and_closing_frees_the_subject(
    register: RegisterActivities, own_register: str
) -> None:
    subject = DEMO_SUBJECTS["joint_a"]
    opened = await open_case(register, subject, "intake-a")
    close = RecordTransitionInput(
        case_number=opened.case_number,
        step=1,
        actor="anna",
        action="close_unverified",
        from_state=CaseState.AWAITING_IDENTITY,
        to_state=CaseState.CLOSED,
        outcome=Outcome.CLOSED_UNVERIFIED,
    )
    env = ActivityEnvironment()
    await env.run(register.record_transition, close)
    await env.run(register.record_transition, close)  # a retry after a lost completion

    engine = create_engine(own_register)
    async with sessionmaker(engine)() as session:
        events = await session.scalar(
            select(func.count()).where(CaseEvent.case_number == opened.case_number)
        )
        case = await session.get_one(Case, opened.case_number)
    await engine.dispose()
    assert events == 2  # registration + the close, once
    assert case.state == "closed" and case.outcome == "closed_unverified"
    assert case.closed_at is not None and case.closed_at.tzinfo is not None

    reopened = await open_case(register, subject, "intake-b")
    assert not reopened.existing and reopened.case_number != opened.case_number
