"""A worker process killed (SIGKILL) in the middle of a case, as a crash or the OOM killer ends
it: nothing is handed back, so the server learns of the loss only when the running activity's
timeout runs out, and then a new worker process retries it. The case still ends with exactly
one delivery of the extract and one of each notice to the subject.

The requests come from the e-service unsigned, so the subject is first asked for proof of
identity in their digital mailbox (one notice) and a handler checks their ID; the extract is
then delivered to the same mailbox. Real dev server, real `worker.py` processes, real SQLite.

Collection is held as in tests/test_worker_lifecycle.py: a lock on the billing system's SQLite
file makes its reader wait. Delivery is held inside the digital mailbox adapter, after the
attachments are written and before the message itself: the demo's `OutboxMailbox` writes every
file through a temporary next to it (`infra.files.write_atomically`), and a named pipe in the
place of the message's temporary makes that write wait for a reader, who never comes. Nothing
in the code under test is replaced. The retry must overwrite what the killed attempt left and
send the message once.

How long a test takes is the killed activity's heartbeat timeout (30 s for collection and for
delivery, both heartbeat while they wait): each test takes about 45 s.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType, PendingActivityState, TimeoutType
from temporalio.api.history.v1 import (
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
)
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowHandle

from contract.actions import ApproveReleaseInput
from contract.case import CaseResult, CaseState, DeliveryMethod, Outcome
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from infra.db import Case, CaseEvent, create_engine, sessionmaker
from tests.helpers import submit_access, wait_for_state
from tests.support.workers import (
    HEARTBEAT_TIMEOUT_SECONDS,
    WorkerProcess,
    pid_of,
    readers_blocked,
    the_one_running_collect,
    until,
    worker_processes,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUBJECT = DEMO_SUBJECTS["tolvan"]
EXTRACT_FILES = ["extract.html", "extract.json", "message.json"]
# A killed worker's activity is retried once its heartbeat timeout has run out; a recovery
# slower than this would be too slow for the suite, and for a subject waiting for an answer.
MAX_RECOVERY_SECONDS = 60
# Room for the retry's backoff and a loaded machine, on top of the timeout itself.
MARGIN_SECONDS = 45


@dataclass
class ActivityRun:
    """One scheduled activity in a history: its last started attempt, whether it completed."""

    scheduled: ActivityTaskScheduledEventAttributes
    started: ActivityTaskStartedEventAttributes | None = None
    completed: bool = False


def activity_runs(events: Iterable[HistoryEvent], name: str) -> list[ActivityRun]:
    runs: dict[int, ActivityRun] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = event.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name == name:
                runs[event.event_id] = ActivityRun(scheduled)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if started.scheduled_event_id in runs:
                runs[started.scheduled_event_id].started = started
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed = event.activity_task_completed_event_attributes
            if completed.scheduled_event_id in runs:
                runs[completed.scheduled_event_id].completed = True
    return list(runs.values())


async def history(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


def logged(log: str, event: str) -> list[dict[str, Any]]:
    """A worker's JSON log lines with the given event (the SDK's activity logger appends the
    activity's context to the event in parentheses)."""
    lines = (json.loads(line) for line in log.splitlines() if line.startswith("{"))
    return [
        line
        for line in lines
        if line.get("event") == event or str(line.get("event")).startswith(f"{event} (")
    ]


def mailbox(settings: Settings) -> dict[str, list[str]]:
    """Every message in the digital mailbox outbox (this test's own): message id -> its files,
    temporaries included."""
    folder = settings.outbox_dir / "digital-mailbox"
    return {
        message.name: sorted(path.name for path in message.iterdir())
        for message in folder.iterdir()
    }


async def trail(settings: Settings, case_number: str) -> tuple[str | None, list[CaseEvent]]:
    """The case's outcome and trail rows in the register."""
    engine = create_engine(settings.register_database_url)
    try:
        async with sessionmaker(engine)() as session:
            case = await session.get_one(Case, case_number)
            events = await session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_number == case_number)
                .order_by(CaseEvent.step)
            )
            return case.outcome, list(events)
    finally:
        await engine.dispose()


async def submitted_case(client: Client, settings: Settings) -> WorkflowHandle[Any, CaseResult]:
    """An unsigned access request from the e-service, answered in the subject's own digital
    mailbox: no proof is needed, and collection starts at once."""
    submitted = await submit_access(client, settings, SUBJECT)
    return client.get_workflow_handle(submitted.case_number, result_type=CaseResult)


async def running_on(
    handle: WorkflowHandle[Any, Any], name: str, worker: WorkerProcess, *, attempt: int
) -> PendingActivityInfo | None:
    """The pending activity `name` once its attempt `attempt` (or a later one) runs on
    `worker`."""
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if (
            pending.activity_type.name == name
            and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            and pending.attempt >= attempt
            and pid_of(pending.last_worker_identity) == worker.process.pid
        ):
            return pending
    return None


async def kill(worker: WorkerProcess) -> str:
    """SIGKILL, as a crash ends a worker: it hands nothing back. Gives its log."""
    worker.process.kill()
    assert await asyncio.wait_for(worker.process.wait(), 10) == -9
    return worker.log()


async def assert_delivered_once(
    handle: WorkflowHandle[Any, CaseResult], settings: Settings, killed_log: str, new: WorkerProcess
) -> None:
    """Closed as delivered, with one extract in the subject's mailbox (and no identity notice:
    none was needed),
    one delivery in history and in the workers' logs, and one in the register's trail."""
    number = handle.id
    result = await asyncio.wait_for(handle.result(), 30)
    assert result.outcome is Outcome.DELIVERED
    assert result.delivery is not None
    assert result.delivery.method is DeliveryMethod.DIGITAL_MAILBOX
    assert Path(result.delivery.location) == settings.outbox_dir / "digital-mailbox" / number

    # Messages are kept by id, so a second send would overwrite one: hence the counts below.
    assert mailbox(settings) == {number: EXTRACT_FILES}
    message = json.loads(
        (settings.outbox_dir / "digital-mailbox" / number / "message.json").read_text()
    )
    assert message["message_id"] == number and message["attachments"] == EXTRACT_FILES[:2]

    events = await history(handle)
    runs = activity_runs(events, "deliver_extract")
    assert [run.completed for run in runs] == [True], runs
    assert activity_runs(events, "send_notice") == []
    delivered = [
        line for log in (killed_log, new.log()) for line in logged(log, "extract delivered")
    ]
    assert [line.get("case_number") for line in delivered] == [number]

    outcome, rows = await trail(settings, number)
    assert outcome == "delivered"
    assert [(row.from_state, row.action) for row in rows if row.to_state == "delivering"] == [
        ("awaiting_review", "approve_release")
    ]
    assert [(row.from_state, row.action) for row in rows if row.to_state == "closed"] == [
        ("delivering", "delivered:digital_mailbox")
    ]


async def test_a_worker_killed_while_collecting_is_replaced_and_the_case_delivered_once(
    client: Client, settings: Settings
) -> None:
    async with readers_blocked(settings.system_url("billing")) as release:
        async with worker_processes(client, settings, 1) as [killed]:
            handle = await submitted_case(client, settings)
            blocked = await until(
                lambda: the_one_running_collect(handle),
                "billing's collection to block",
                timeout=45,
            )
            assert blocked.attempt == 1
            assert pid_of(blocked.last_worker_identity) == killed.process.pid
            killed_log = await kill(killed)

        async with worker_processes(client, settings, 1) as [new]:
            # Found dead at the heartbeat timeout, and retried by the new worker.
            retry = await until(
                lambda: running_on(handle, "collect", new, attempt=2),
                "the collection to be retried on the new worker",
                timeout=HEARTBEAT_TIMEOUT_SECONDS + MARGIN_SECONDS,
            )
            assert (
                retry.last_failure.timeout_failure_info.timeout_type
                == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
            ), retry.last_failure
            await release()

            await wait_for_state(handle, CaseState.AWAITING_REVIEW, timeout=60)
            await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
            await assert_delivered_once(handle, settings, killed_log, new)

    collects = activity_runs(await history(handle), "collect")
    # Four systems, the document archive and the case register.
    assert len(collects) == 6 and all(run.completed for run in collects)
    [retried] = [run for run in collects if run.started and run.started.attempt > 1]
    assert retried.started is not None and retried.started.attempt == 2
    assert pid_of(retried.started.identity) == new.process.pid


async def test_a_worker_killed_while_delivering_is_replaced_and_delivers_once(
    client: Client, settings: Settings
) -> None:
    async with worker_processes(client, settings, 1) as [killed]:
        handle = await submitted_case(client, settings)
        await wait_for_state(handle, CaseState.AWAITING_REVIEW, timeout=60)

        message = settings.outbox_dir / "digital-mailbox" / handle.id
        message.mkdir(parents=True)
        held = message / ".message.json.tmp"
        os.mkfifo(held)
        await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))

        async def half_sent() -> PendingActivityInfo | None:
            running = await running_on(handle, "deliver_extract", killed, attempt=1)
            written = {path.name for path in message.iterdir()}
            return running if {"extract.html", "extract.json"} <= written else None

        delivering = await until(half_sent, "the delivery to hold before its message", timeout=30)
        assert delivering.attempt == 1
        assert not (message / "message.json").exists()

        [scheduled] = activity_runs(await history(handle), "deliver_extract")
        heartbeat = scheduled.scheduled.heartbeat_timeout.ToTimedelta().total_seconds()
        assert 0 < heartbeat <= MAX_RECOVERY_SECONDS, "deliver_extract needs a heartbeat timeout"
        killed_log = await kill(killed)
        # What the kill left: the attachments, no message. The pipe goes with the kill, as a
        # hung connection does.
        held.unlink()
        assert mailbox(settings)[handle.id] == ["extract.html", "extract.json"]

    async with worker_processes(client, settings, 1) as [new]:
        await asyncio.wait_for(handle.result(), heartbeat + MARGIN_SECONDS)
        await assert_delivered_once(handle, settings, killed_log, new)

    [run] = activity_runs(await history(handle), "deliver_extract")
    assert run.started is not None and run.started.attempt == 2
    assert pid_of(run.started.identity) == new.process.pid
    assert (
        run.started.last_failure.timeout_failure_info.timeout_type
        == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    )
