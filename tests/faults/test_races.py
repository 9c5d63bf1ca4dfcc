"""Two handlers acting on the same case at once: exactly one wins, the other is told, in words
a handler understands, and the case records and does only what the winner decided.

Real dev server, real worker, real register. The two actions are sent together: as two
updates from one client (asyncio.gather), and as two `starter.py` commands in two processes,
each signed in as its handler and talking to the case service.
Which one wins is up to the server; every test accepts either and checks the consequences of
the one that did.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from contract.actions import (
    ActionResult,
    ApproveErasurePlanInput,
    ApproveReleaseInput,
    PrepareErasurePlanInput,
    RefuseInput,
    RejectErasurePlanInput,
)
from contract.case import CaseResult, CaseState, CaseStatus, Outcome
from contract.vocabulary import Kind
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from infra.db import CaseEvent, create_engine, sessionmaker
from systems.catalog import load_catalog
from systems.erasure import plan_erasure
from tests.helpers import STARTER, Cli, status_of, submit, submit_access, wait_for_state
from tests.serving import Desk

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFUSAL = "Femte begäran denna vecka om samma uppgifter."


def told_clearly(message: str, case_number: str, action: str) -> None:
    """What the one who lost is told: one line about this case, saying that someone else got
    there first (or is being checked), or that the case has moved on past `action`."""
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith(f"case {case_number}"), message
    why = "|".join(
        (
            "another handler has already decided this step",
            re.escape("another handler's action on this step is being checked; try again"),
            rf"is \w+; you can {action} only while it is awaiting_\w+",
            r"moved on to \w+ meanwhile; nothing was done",
            r"is \w+; a request can be refused only while a handler's decision is pending",
            "is closed; no action can be taken on it",
        )
    )
    assert re.search(why, message), message


async def race(
    handle: WorkflowHandle[Any, Any], *actions: tuple[str, BaseModel]
) -> tuple[int, ActionResult, ApplicationError]:
    """Send the updates together; (the winner's index, its result, the loser's refusal)."""
    outcomes = await asyncio.gather(
        *(
            handle.execute_update(update, action, result_type=ActionResult)
            for update, action in actions
        ),
        return_exceptions=True,
    )
    won = [i for i, o in enumerate(outcomes) if isinstance(o, ActionResult)]
    lost = [o for o in outcomes if isinstance(o, WorkflowUpdateFailedError)]
    assert len(won) == 1 and len(lost) == len(actions) - 1, outcomes
    winner = outcomes[won[0]]
    assert isinstance(winner, ActionResult)
    refusal = lost[0]
    # A business refusal the workflow gave, not a fault of the engine.
    assert isinstance(refusal.cause, ApplicationError), repr(refusal.cause)
    assert refusal.cause.type == "WrongState", refusal.cause
    return won[0], winner, refusal.cause


async def trail(settings: Settings, case_number: str) -> list[CaseEvent]:
    """The case's rows in the register's trail, in order."""
    engine = create_engine(settings.register_database_url)
    try:
        async with sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_number == case_number)
                .order_by(CaseEvent.step)
            )
            return list(rows.all())
    finally:
        await engine.dispose()


def left(events: list[CaseEvent], state: str) -> list[tuple[str, str, str]]:
    """(to which state, by whom, by which action) the trail left `state`."""
    return [(e.to_state, e.actor, e.action) for e in events if e.from_state == state]


async def scheduled(handle: WorkflowHandle[Any, Any], activity: str) -> int:
    """How many times the case's history scheduled `activity`."""
    names = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    return names.count(activity)


async def updates_completed(handle: WorkflowHandle[Any, Any], names: set[str]) -> int:
    """How many of the updates named were accepted and completed successfully (a validator's
    refusal leaves nothing in history; a handler's refusal completes with a failure)."""
    accepted: dict[str, str] = {}
    succeeded = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            accepted[request.meta.update_id] = request.input.name
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            completed = event.workflow_execution_update_completed_event_attributes
            name = accepted.get(completed.meta.update_id)
            succeeded += name in names and completed.outcome.HasField("success")
    return succeeded


def decisions(status: CaseStatus, actions: set[str]) -> list[tuple[str, str]]:
    """(action, actor) of the steps of `status` that record one of `actions`."""
    return [(step.action, step.actor) for step in status.steps if step.action in actions]


def mailbox(settings: Settings, case_number: str) -> set[str]:
    """The messages the subject's digital mailbox got for the case (extract: the case number)."""
    folder = settings.outbox_dir / "digital-mailbox"
    return {path.name for path in folder.glob(f"{case_number}*")} if folder.exists() else set()


def dpo_told_of_refusal(settings: Settings, case_number: str) -> bool:
    return (settings.outbox_dir / "staff" / f"{case_number}-dpo-refused.json").exists()


async def awaiting_review(
    client: Client, settings: Settings, subject: str
) -> WorkflowHandle[Any, Any]:
    """An access case verified by e-ID at intake, its extract built and waiting for review."""
    submitted = await submit_access(client, settings, DEMO_SUBJECTS[subject], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    return handle


# --- two updates from one client -------------------------------------------------------------


async def test_two_approvals_at_once_deliver_once_by_the_one_who_won(
    client: Client, worker: Settings
) -> None:
    handle = await awaiting_review(client, worker, "tolvan")
    case_number = handle.id
    handlers = ("anna", "bo")
    index, approved, refusal = await race(
        handle, *(("approve_release", ApproveReleaseInput(handler=h)) for h in handlers)
    )
    winner, loser = handlers[index], handlers[1 - index]
    assert approved.state is CaseState.DELIVERING
    told_clearly(refusal.message, case_number, "approve the release")

    result = await handle.result()
    assert result.outcome is Outcome.DELIVERED
    assert result.delivery is not None and result.delivery.delivered_by == winner
    status = await status_of(handle)
    assert decisions(status, {"approve_release"}) == [("approve_release", winner)]
    assert all(step.actor != loser for step in status.steps), status.steps
    events = await trail(worker, case_number)
    assert left(events, "awaiting_review") == [("delivering", winner, "approve_release")]
    assert [e.to_state for e in events].count("closed") == 1
    # Delivered once: one delivery in history, one message in the subject's mailbox.
    assert await scheduled(handle, "deliver_extract") == 1
    assert mailbox(worker, case_number) == {case_number}
    assert await updates_completed(handle, {"approve_release"}) == 1


@pytest.mark.parametrize("refusal_first", [False, True], ids=["approval-first", "refusal-first"])
async def test_approval_and_refusal_at_once_end_the_case_one_way(
    client: Client, worker: Settings, refusal_first: bool
) -> None:
    """Sent in both orders, so that each has its turn at winning."""
    handle = await awaiting_review(client, worker, "joint_a")
    case_number = handle.id
    actions: list[tuple[str, BaseModel]] = [
        ("approve_release", ApproveReleaseInput(handler="anna")),
        ("refuse", RefuseInput(handler="chef.jurist", reason=REFUSAL)),
    ]
    if refusal_first:
        actions.reverse()
    index, answered, refusal = await race(handle, *actions)
    refused = actions[index][0] == "refuse"
    lost_action = "approve the release" if refused else "refuse the request"
    told_clearly(refusal.message, case_number, lost_action)

    result = await handle.result()
    status = await status_of(handle)
    events = await trail(worker, case_number)
    decided = left(events, "awaiting_review")
    if refused:
        assert answered.state is CaseState.SENDING_NOTICE
        assert result.outcome is Outcome.REFUSED and result.delivery is None
        assert decisions(status, {"approve_release", "refuse"}) == [("refuse", "chef.jurist")]
        assert decided == [("sending_notice", "chef.jurist", "refuse")]
        assert await scheduled(handle, "deliver_extract") == 0
        assert mailbox(worker, case_number) == {f"{case_number}-refused"}
        assert dpo_told_of_refusal(worker, case_number)
    else:
        assert answered.state is CaseState.DELIVERING
        assert result.outcome is Outcome.DELIVERED and status.refusal_reason is None
        assert decisions(status, {"approve_release", "refuse"}) == [("approve_release", "anna")]
        assert decided == [("delivering", "anna", "approve_release")]
        assert await scheduled(handle, "deliver_extract") == 1
        assert mailbox(worker, case_number) == {case_number}
        assert not dpo_told_of_refusal(worker, case_number)
    assert [e.to_state for e in events].count("closed") == 1
    assert await updates_completed(handle, {"approve_release", "refuse"}) == 1


async def tables_to_erase(settings: Settings, subject: str) -> int:
    """In how many tables the systems would still erase rows of the subject today."""
    catalog = load_catalog()
    count = 0
    for name in catalog.names():
        engine = create_engine(settings.system_url(name), own_database=False)
        try:
            items = await plan_erasure(
                engine, catalog.systems[name], subject, date.today(), plan=catalog.plan
            )
        finally:
            await engine.dispose()
        count += sum(item.action == "delete" for item in items)
    return count


async def test_an_erasure_plan_approved_and_sent_back_at_once_goes_one_way(
    client: Client, writable: Settings
) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    submitted = await submit(client, writable, tolvan, Kind.ERASURE, bankid=True)
    case_number = submitted.case_number
    handle = client.get_workflow_handle(case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_DECISION)
    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    erasable = await tables_to_erase(writable, tolvan)
    assert erasable > 0

    # Two team leads, neither the preparer: both may approve and both may send it back.
    index, answered, refusal = await race(
        handle,
        ("approve_erasure_plan", ApproveErasurePlanInput(handler="bo")),
        ("reject_erasure_plan", RejectErasurePlanInput(handler="cecilia", reason="Kontrollera.")),
    )
    approved = index == 0
    lost_action = "send the erasure plan back" if approved else "approve the erasure plan"
    told_clearly(refusal.message, case_number, lost_action)
    both = {"approve_erasure_plan", "reject_erasure_plan"}
    if approved:
        result = await handle.result()
        assert result.outcome in (Outcome.PARTLY_COMPLETED, Outcome.COMPLETED)
        status = await status_of(handle)
        assert decisions(status, both) == [("approve_erasure_plan", "bo")]
        assert await scheduled(handle, "execute_erasure") > 0
        assert await tables_to_erase(writable, tolvan) == 0
        await client.get_workflow_handle(f"{case_number}-retention").terminate("test over")
    else:
        status = await wait_for_state(handle, CaseState.AWAITING_DECISION)
        assert decisions(status, both) == [("reject_erasure_plan", "cecilia")]
        assert await scheduled(handle, "execute_erasure") == 0
        assert await tables_to_erase(writable, tolvan) == erasable, "nothing was erased"
        await handle.terminate("test over")
    events = await trail(writable, case_number)
    assert [e.actor for e in events if e.action in both] == ["bo" if approved else "cecilia"]
    assert await updates_completed(handle, both) == 1


# --- two handlers, two processes: the CLI ----------------------------------------------------


# A `starter.py` process that imports the CLI, says it is ready, waits for the word, and then
# runs the command it was given as `starter.py` would (starter.main: exit code, one JSON line
# or one `error:` line), as the person signed in in its environment.
BOOTSTRAP = """
import os, sys, time
import starter
ready, go, *command = sys.argv[1:]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
sys.argv = ["starter.py", *command]
starter.main()
"""


async def at_once(
    folder: Path, *commands: tuple[Cli, tuple[str, ...]]
) -> list[tuple[int, str, str]]:
    """Run each command in a `starter.py` process of its own, as the person signed in at that
    `Cli`, all sent at the same moment: a process takes a while to start, longer than a case
    takes to deliver, so started one after the other the later ones would mostly find the case
    closed. (code, out, err)."""
    folder.mkdir()
    go = folder / "go"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BOOTSTRAP,
            str(folder / f"ready-{n}"),
            str(go),
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli.env,
            cwd=STARTER.parent,
        )
        for n, (cli, command) in enumerate(commands)
    ]

    async def all_ready() -> None:
        while len(list(folder.glob("ready-*"))) < len(commands):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(all_ready(), 60)
    go.touch()
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    return [
        (process.returncode if process.returncode is not None else -1, out.decode(), err.decode())
        for process, (out, err) in zip(processes, outputs, strict=True)
    ]


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 1 and not out, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0].removeprefix("error: ")


async def test_two_commands_at_once_one_succeeds_the_other_gets_one_line(
    client: Client, worker: Settings, desk: Desk, tmp_path: Path
) -> None:
    """Two approvals of one case, and an approval and a refusal of another: four `starter.py`
    processes, each signed in as its handler, sending their commands at the same moment."""
    anna, bo, jurist = [await desk.login(who) for who in ("anna", "bo", "chef.jurist")]
    two_approvals, approve_or_refuse = await asyncio.gather(
        awaiting_review(client, worker, "coordination"),
        awaiting_review(client, worker, "marketing_only"),
    )
    first, second = two_approvals.id, approve_or_refuse.id
    answers = await at_once(
        tmp_path / "cli",
        (anna, ("approve", first, "--json")),
        (bo, ("approve", first, "--json")),
        (anna, ("approve", second, "--json")),
        (jurist, ("refuse", second, "--reason", REFUSAL, "--json")),
    )
    results = await asyncio.gather(two_approvals.result(), approve_or_refuse.result())
    statuses = await asyncio.gather(status_of(two_approvals), status_of(approve_or_refuse))

    # Two approvals: one approved, the other told in one line; delivered once, by the winner.
    codes = [code for code, _, _ in answers[:2]]
    assert sorted(codes) == [0, 1], answers[:2]
    won = codes.index(0)
    winner = ("anna", "bo")[won]
    moved = json.loads(answers[won][1])
    assert moved["case_number"] == first and moved["state"] in ("delivering", "closed")
    told_clearly(one_line_error(*answers[1 - won]), first, "approve the release")
    assert results[0].outcome is Outcome.DELIVERED and results[0].delivery is not None
    assert results[0].delivery.delivered_by == winner
    assert decisions(statuses[0], {"approve_release"}) == [("approve_release", winner)]
    assert await scheduled(two_approvals, "deliver_extract") == 1
    assert await updates_completed(two_approvals, {"approve_release"}) == 1

    # Approval or refusal: one of them, and the case ends that way only.
    codes = [code for code, _, _ in answers[2:]]
    assert sorted(codes) == [0, 1], answers[2:]
    refused = codes.index(0) == 1
    told_clearly(
        one_line_error(*answers[2 + (0 if refused else 1)]),
        second,
        "approve the release" if refused else "refuse the request",
    )
    status = statuses[1]
    if refused:
        assert results[1].outcome is Outcome.REFUSED
        assert decisions(status, {"approve_release", "refuse"}) == [("refuse", "chef.jurist")]
        assert await scheduled(approve_or_refuse, "deliver_extract") == 0
    else:
        assert results[1].outcome is Outcome.DELIVERED
        assert decisions(status, {"approve_release", "refuse"}) == [("approve_release", "anna")]
        assert await scheduled(approve_or_refuse, "deliver_extract") == 1
    assert await updates_completed(approve_or_refuse, {"approve_release", "refuse"}) == 1
