"""Point 7: what a handler writes as a reason is personal text, and the register holds it
sealed. The audit evidence shows it opened; a note moved to another row does not open there;
a note written in the clear before sealing still shows and verifies. Real SQLite (PostgreSQL
under make test-postgres)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.register import RegisterActivities
from contract.case import CaseState
from contract.intake import RegisterCaseInput, SubmitRequestInput
from contract.steps import RecordTransitionInput
from contract.vocabulary import Kind
from demo.people import DEMO_SUBJECTS
from infra.audit import chain_key, evidence
from infra.codec import KeyRing
from infra.db import create_engine, create_schema, sessionmaker
from tests.databases import database_url

pytestmark = pytest.mark.asyncio(loop_scope="session")

REASON = "Tolvan Tolvansson ringde: dottern är sjuk, anstånd till fredag"
RING = KeyRing({"k1": os.urandom(32)}, "k1")


@pytest_asyncio.fixture(loop_scope="session")
async def register(tmp_path: Path) -> AsyncIterator[tuple[RegisterActivities, AsyncEngine]]:
    url = database_url(tmp_path, "register")
    engine = create_engine(url)
    await create_schema(engine)
    yield RegisterActivities(sessionmaker(engine), secret="s" * 32, ring=RING), engine
    await engine.dispose()


async def a_case_with_a_reason(register: RegisterActivities) -> str:
    opened = await ActivityEnvironment().run(
        register.register_case,
        RegisterCaseInput(
            request=SubmitRequestInput(
                kind=Kind.ACCESS,
                subject_id=DEMO_SUBJECTS["tolvan"],
                received_at=datetime(2026, 3, 5, tzinfo=UTC),
            ),
            intake_id="sealed-notes",
        ),
    )
    for step, detail in [(2, REASON), (3, None)]:
        await ActivityEnvironment().run(
            register.record_transition,
            RecordTransitionInput(
                case_number=opened.case_number,
                step=step,
                actor="anna",
                action="extend" if detail else "review",
                from_state=CaseState.AWAITING_REVIEW,
                to_state=CaseState.AWAITING_REVIEW,
                detail=detail,
            ),
        )
    return opened.case_number


async def stored_notes(engine: AsyncEngine, case: str) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT step, detail FROM case_events WHERE case_number = :case"),
            {"case": case},
        )
        return {step: str(detail) for step, detail in rows if detail}


async def test_a_reason_is_sealed_at_rest_and_shown_in_the_evidence(
    register: tuple[RegisterActivities, AsyncEngine],
) -> None:
    activities, engine = register
    case = await a_case_with_a_reason(activities)
    stored = await stored_notes(engine, case)
    assert "Tolvansson" not in stored[2]
    assert "dsr-sealed-note:v1:k1:" in stored[2]
    async with sessionmaker(engine)() as session:
        shown = await evidence(session, case, chain_key("s" * 32), RING)
    notes = {e["step"]: (e["detail"] or {}).get("note") for e in shown["events"]}
    assert notes[2] == REASON
    assert shown["verification"]["intact"] and shown["verification"]["problems"] == []


async def test_a_note_moved_to_another_row_does_not_open_there(
    register: tuple[RegisterActivities, AsyncEngine],
) -> None:
    activities, engine = register
    case = await a_case_with_a_reason(activities)
    async with engine.begin() as conn:
        sealed = (
            await conn.execute(
                sa.text("SELECT detail FROM case_events WHERE case_number = :c AND step = 2"),
                {"c": case},
            )
        ).scalar_one()
        await conn.execute(
            sa.text("UPDATE case_events SET detail = :d WHERE case_number = :c AND step = 3"),
            # SQLite answers JSON as text, PostgreSQL (asyncpg) as the object; both take text.
            {"d": sealed if isinstance(sealed, str) else json.dumps(sealed), "c": case},
        )
    async with sessionmaker(engine)() as session:
        shown = await evidence(session, case, chain_key("s" * 32), RING)
    problems = shown["verification"]["problems"]
    assert any("the note at step 3" in problem and "not its own" in problem for problem in problems)
    assert REASON not in str(next(e for e in shown["events"] if e["step"] == 3))
    # Without the key nothing opens either: the evidence says so instead of guessing.
    other = KeyRing({"k2": os.urandom(32)}, "k2")
    async with sessionmaker(engine)() as session:
        keyless = await evidence(session, case, chain_key("s" * 32), other)
    assert any("no key 'k1'" in problem for problem in keyless["verification"]["problems"])


async def test_a_note_written_in_the_clear_before_sealing_still_shows_and_verifies(
    register: tuple[RegisterActivities, AsyncEngine],
) -> None:
    _, engine = register
    before = RegisterActivities(sessionmaker(engine), secret="s" * 32)  # no ring: as it was
    case = await a_case_with_a_reason(before)
    assert "Tolvansson" in (await stored_notes(engine, case))[2]
    async with sessionmaker(engine)() as session:
        shown = await evidence(session, case, chain_key("s" * 32), RING)
    assert {e["step"]: (e["detail"] or {}).get("note") for e in shown["events"]}[2] == REASON
    assert shown["verification"]["intact"] and shown["verification"]["problems"] == []
