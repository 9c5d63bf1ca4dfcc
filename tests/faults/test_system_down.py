"""A connected system that is down: the case retries it with backoff, shows which system it waits
for, tells the assignee after the configured time, and continues by itself once the system is
back. Real dev server, real SQLite.

The system is made to fail the way an emptied or replaced database does: its URL points at a
database without its tables, so every read raises at once; bringing it back copies the seeded
database into that same file (SQLite's backup API), which the worker's open connections see.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from temporalio.client import Client, WorkflowHandle

from app.worker_setup import build_activities, create_worker
from contract.actions import WithdrawInput
from contract.case import CaseState, CaseStatus
from demo.people import DEMO_SUBJECTS
from demo.systems import default_urls, seed_demo_systems
from infra.config import Settings
from tests.helpers import status_of, submit_access, wait_for_state

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOWN = "billing"
NOTICE_AFTER_SECONDS = 2


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    assert database is not None
    return Path(database)


def staff_notices(settings: Settings, case_number: str, event: str) -> list[dict[str, str]]:
    found = (settings.outbox_dir / "staff").glob(f"{case_number}-*-{event}*.json")
    return [json.loads(path.read_text()) for path in sorted(found)]


async def until_status(
    handle: WorkflowHandle[object, object], check: object, what: str, timeout: float = 30
) -> CaseStatus:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = await status_of(handle)
        if check(current):
            return current
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def failed_attempts(handle: WorkflowHandle[object, object]) -> int:
    """The highest attempt of a pending collect activity that has failed before."""
    description = await handle.describe()
    return max(
        (
            activity.attempt
            for activity in description.raw_description.pending_activities
            if activity.activity_type.name == "collect" and activity.HasField("last_failure")
        ),
        default=0,
    )


async def test_a_system_that_is_down_is_retried_shown_told_and_the_case_goes_on(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    seeded = default_urls(tmp_path / "seeded")
    await seed_demo_systems(seeded)
    broken = tmp_path / "down" / f"{DOWN}.db"
    broken.parent.mkdir()
    sqlite3.connect(broken).close()  # a database without its tables: every read fails
    custom = settings.model_copy(
        update={
            "system_urls": {**seeded, DOWN: f"sqlite+aiosqlite:///{broken}"},
            "system_wait_notice_seconds": NOTICE_AFTER_SECONDS,
        }
    )
    async with build_activities(custom) as activities, create_worker(client, custom, activities):
        submitted = await submit_access(client, custom, DEMO_SUBJECTS["tolvan"], bankid=True)
        number = submitted.case_number
        handle = client.get_workflow_handle(number)

        # The case shows the system it waits for; the others answered.
        told = await until_status(
            handle,
            lambda s: any(w.told_at for w in s.waiting_for_systems),
            "the assignee to be told of the system that is down",
        )
        assert told.state is CaseState.COLLECTING
        assert [(w.system, w.step) for w in told.waiting_for_systems] == [(DOWN, "collect")]
        notices = staff_notices(custom, number, "system_waiting")
        assert len(notices) == 1
        assert notices[0]["role"] == "assignee"
        assert f"Gäller: {DOWN}." in notices[0]["body"] and "network" not in notices[0]["body"]

        # Retried with backoff meanwhile (2 s, 4 s, ...), not given up on.
        deadline = time.monotonic() + 30
        while await failed_attempts(handle) < 3:
            assert time.monotonic() < deadline, "the collection was not retried"
            await asyncio.sleep(0.5)
        assert (await status_of(handle)).state is CaseState.COLLECTING

        # The system is back: the case continues by itself, with the system's data.
        source = sqlite3.connect(sqlite_path(seeded[DOWN]))
        target = sqlite3.connect(broken)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        review = await wait_for_state(handle, CaseState.AWAITING_REVIEW, timeout=60)
        assert review.waiting_for_systems == []
        assert review.extract is not None
        assert DOWN in review.extract.systems
        actions = [step.action for step in review.steps]
        assert "collected" in actions
        # Told once, however long it took.
        assert len(staff_notices(custom, number, "system_waiting")) == 1


async def test_a_request_withdrawn_while_a_system_is_down_stops_collecting(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    """Withdrawn in the middle of collection: the collection that waits for the system is
    cancelled, nothing is built or sent, and the case closes as withdrawn."""
    seeded = default_urls(tmp_path / "seeded")
    await seed_demo_systems(seeded)
    broken = tmp_path / "down" / f"{DOWN}.db"
    broken.parent.mkdir()
    sqlite3.connect(broken).close()
    custom = settings.model_copy(
        update={"system_urls": {**seeded, DOWN: f"sqlite+aiosqlite:///{broken}"}}
    )
    async with build_activities(custom) as activities, create_worker(client, custom, activities):
        submitted = await submit_access(client, custom, DEMO_SUBJECTS["tolvan"], bankid=True)
        handle = client.get_workflow_handle(submitted.case_number)
        await until_status(
            handle, lambda s: s.waiting_for_systems, "the case to wait for the system"
        )
        await handle.execute_update("withdraw", WithdrawInput(handler="anna"))
        result = await asyncio.wait_for(handle.result(), 30)
        assert result["outcome"] == "withdrawn"
        history = await handle.fetch_history()
        cancelled = [
            e
            for e in history.events
            if e.HasField("activity_task_cancel_requested_event_attributes")
        ]
        assert cancelled, "the collection waiting for the system is cancelled"
        built = [
            e
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name
            in ("build_extract", "deliver_extract")
        ]
        assert built == [], "nothing was built or sent"
        assert (await status_of(handle)).waiting_for_systems == []
