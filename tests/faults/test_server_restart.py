"""The Temporal dev server stopped with a case of every kind open, then started again on the same
database file: every case answers with the state it had and is listed as it was, a durable timer
set before the stop fires after it, and handlers take every case to its end. The worker is a
`worker.py` process, as in production, that stays up and reconnects by itself.

The server is this test's own `temporal server start-dev` (not the session's) on a SQLite file,
with the engine's search attributes, as `make run` starts it but without the UI. It is stopped
the way an operator stops it (SIGTERM) and the way a crash does (SIGKILL).

The timer: a case tells its assignee when a connected system has not answered for
`system_wait_notice_seconds` (CaseWorkflow._watch_systems), the one durable timer whose length is
a setting in seconds; the escalation ladder, the extract disposal and the public-access periods
count in days. The portability case collects while the billing database is locked
(`readers_blocked`), so it waits in `collecting` with that timer running when the server goes
down.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from contract import search
from contract.actions import (
    ApproveErasurePlanInput,
    ApproveReleaseInput,
    DecideRectificationInput,
    LiftRestrictionInput,
    PrepareErasurePlanInput,
    RecordManualDeliveryInput,
)
from contract.case import CaseResult, CaseState, CaseStatus, Outcome
from contract.intake import FieldChange, RequestDetails, SubmitRequestResult
from contract.public_access import ConfirmDocumentsInput, ReviewDocumentInput
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.vocabulary import (
    Channel,
    Kind,
    RectifiableField,
    RectificationDecision,
    RestrictionGround,
    ReviewDecision,
)
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from demo.systems import seed_demo_systems
from infra.binaries import installed_binary
from infra.client import connect
from infra.config import Settings
from tests.databases import system_urls
from tests.helpers import free_port, status_of, submit, wait_for_state
from tests.support.requests import request_documents
from tests.support.workers import readers_blocked, until, worker_processes

pytestmark = pytest.mark.asyncio(loop_scope="session")

Case = WorkflowHandle[Any, CaseResult]

NOTICE_AFTER_SECONDS = 10
STOP_SECONDS = 30
# The objector has no digital mailbox, so the objection waits for a handler to hand its
# confirmation over (it would otherwise close by itself within seconds).
OBJECTOR = DEMO_SUBJECTS["marketing_only"]
# Where each case waits when the server goes down, and how it ends.
WAITING = {
    # By letter to the population-register address: no proof needed, reviewed and sent.
    Kind.ACCESS: CaseState.AWAITING_REVIEW,
    Kind.RECTIFICATION: CaseState.AWAITING_DECISION,
    Kind.RESTRICTION: CaseState.RESTRICTED,
    Kind.OBJECTION: CaseState.AWAITING_MANUAL_DELIVERY,
    Kind.ERASURE: CaseState.AWAITING_APPROVAL,
    Kind.PUBLIC_ACCESS: CaseState.AWAITING_CONFIRMATION,
    Kind.PORTABILITY: CaseState.COLLECTING,
}
OUTCOMES = {
    Kind.ACCESS: Outcome.DELIVERED,
    Kind.RECTIFICATION: Outcome.COMPLETED,
    Kind.RESTRICTION: Outcome.LIFTED,
    Kind.OBJECTION: Outcome.COMPLETED,
    Kind.ERASURE: Outcome.PARTLY_COMPLETED,
    Kind.PUBLIC_ACCESS: Outcome.RELEASED,
    Kind.PORTABILITY: Outcome.DELIVERED,
}


class DevServer:
    """`temporal server start-dev` on a database file and a port of its own, without the UI."""

    def __init__(self, db_file: Path, log_file: Path) -> None:
        self.db_file = db_file
        self.log_file = log_file
        self.address = f"127.0.0.1:{free_port()}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        host, port = self.address.rsplit(":", 1)
        with self.log_file.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                installed_binary("temporal"),
                "server",
                "start-dev",
                "--ip",
                host,
                "--port",
                port,
                "--headless",
                "--db-filename",
                str(self.db_file),
                "--log-level",
                "warn",
                *search.cli_flags(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def stop(self, how: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(how)
        await asyncio.wait_for(self.process.wait(), STOP_SECONDS)


@asynccontextmanager
async def dev_server(db_file: Path, log_file: Path) -> AsyncIterator[DevServer]:
    server = DevServer(db_file, log_file)
    await server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


async def client_of(settings: Settings) -> Client:
    """A client of the settings' server, once it answers (it takes a moment to start)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await connect(settings)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def serving(client: Client) -> bool | None:
    try:
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=2)
        )
    except RPCError:
        return None
    return True


async def act(case: Case, update: str, action: BaseModel) -> None:
    """A handler's action, bounded like every wait here."""
    await asyncio.wait_for(case.execute_update(update, action), 30)


async def open_waiting_cases(client: Client, settings: Settings) -> dict[Kind, Case]:
    """A case of every kind but portability, each waiting for a handler (WAITING)."""
    opened: dict[Kind, Awaitable[SubmitRequestResult]] = {
        Kind.ACCESS: submit(
            client, settings, DEMO_SUBJECTS["joint_a"], Kind.ACCESS, channel=Channel.LETTER
        ),
        Kind.RECTIFICATION: submit(
            client,
            settings,
            DEMO_SUBJECTS["joint_b"],
            Kind.RECTIFICATION,
            bankid=True,
            details=RequestDetails(
                changes=[FieldChange(field=RectifiableField.STREET, new_value="Lindvägen 12")],
                restrict_while_checking=True,
            ),
        ),
        Kind.RESTRICTION: submit(
            client,
            settings,
            DEMO_SUBJECTS["coordination"],
            Kind.RESTRICTION,
            bankid=True,
            details=RequestDetails(restriction_ground=RestrictionGround.NEEDED_FOR_LEGAL_CLAIMS),
        ),
        Kind.OBJECTION: submit(client, settings, OBJECTOR, Kind.OBJECTION),
        Kind.ERASURE: submit(
            client, settings, FILLER_SUBJECTS["akesson"], Kind.ERASURE, bankid=True
        ),
        Kind.PUBLIC_ACCESS: request_documents(
            client,
            settings,
            PublicRequest(
                description="Skrivelser om flytt av elmätare",
                query=DocumentQuery(types=["correspondence"], text="elmätare"),
                contact=Contact(email="begaran@example.org"),
            ),
        ),
    }
    submitted = await asyncio.gather(*opened.values())
    cases = {
        kind: client.get_workflow_handle(result.case_number, result_type=CaseResult)
        for kind, result in zip(opened, submitted, strict=True)
    }
    # The erasure plan is prepared; its approval, by someone else, is left.
    await wait_for_state(cases[Kind.ERASURE], CaseState.AWAITING_DECISION)
    await act(cases[Kind.ERASURE], "prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await asyncio.gather(*(wait_for_state(case, WAITING[kind]) for kind, case in cases.items()))
    return cases


async def release_extract(case: Case) -> None:
    await wait_for_state(case, CaseState.AWAITING_REVIEW, timeout=60)
    await act(case, "approve_release", ApproveReleaseInput(handler="anna"))


async def release_documents(case: Case) -> None:
    located = await status_of(case)
    assert located.public is not None and located.public.candidates
    document = located.public.candidates[0].document_id
    await act(
        case, "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[document])
    )
    await wait_for_state(case, CaseState.SECRECY_REVIEW)
    released = ReviewDocumentInput(
        handler="anna", document_id=document, decision=ReviewDecision.RELEASE
    )
    await act(case, "review_document", released)
    await release_extract(case)  # the preview of the copies, approved


# What the handlers do to take each case from where it waits to its end.
HANDLERS: dict[Kind, Callable[[Case], Awaitable[None]]] = {
    Kind.ACCESS: release_extract,
    Kind.RECTIFICATION: lambda case: act(
        case,
        "decide_rectification",
        DecideRectificationInput(handler="anna", decision=RectificationDecision.ACCEPT),
    ),
    Kind.RESTRICTION: lambda case: act(
        case, "lift_restriction", LiftRestrictionInput(handler="anna", reason="Tvisten är avgjord.")
    ),
    Kind.OBJECTION: lambda case: act(
        case,
        "record_manual_delivery",
        RecordManualDeliveryInput(handler="anna", note="Bekräftelsen lämnades på kundcenter."),
    ),
    # Four eyes: anna prepared the plan before the restart; bo, a team lead, approves it.
    Kind.ERASURE: lambda case: act(
        case, "approve_erasure_plan", ApproveErasurePlanInput(handler="bo")
    ),
    Kind.PUBLIC_ACCESS: release_documents,
    Kind.PORTABILITY: release_extract,
}


async def finish(kind: Kind, case: Case) -> Outcome | None:
    await HANDLERS[kind](case)
    return (await asyncio.wait_for(case.result(), 60)).outcome


def notice_timer(events: list[HistoryEvent]) -> tuple[HistoryEvent | None, HistoryEvent | None]:
    """The system-wait timer's TimerStarted event and its TimerFired event, as far as they
    are in the history."""
    started = [
        event
        for event in events
        if event.HasField("timer_started_event_attributes")
        and event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        == timedelta(seconds=NOTICE_AFTER_SECONDS)
    ]
    assert len(started) <= 1
    if not started:
        return None, None
    fired = [
        event
        for event in events
        if event.HasField("timer_fired_event_attributes")
        and event.timer_fired_event_attributes.started_event_id == started[0].event_id
    ]
    assert len(fired) <= 1
    return started[0], fired[0] if fired else None


async def history(case: Case) -> list[HistoryEvent]:
    return list((await case.fetch_history()).events)


async def listed(client: Client) -> dict[str, str]:
    """What a supervisor's list shows (the Web UI, `starter.py list`): every open case by
    number, with its state."""
    shown = {}
    query = "DsrKind IS NOT NULL AND ExecutionStatus = 'Running'"
    async for execution in client.list_workflows(query):
        attributes = execution.typed_search_attributes
        number, state = attributes.get(search.CASE_NUMBER), attributes.get(search.STATE)
        assert number is not None and state is not None
        shown[number] = state
    return shown


def system_waiting_notices(settings: Settings, case_number: str) -> list[dict[str, str]]:
    found = (settings.outbox_dir / "staff").glob(f"{case_number}-*-system_waiting*.json")
    return [json.loads(path.read_text()) for path in sorted(found)]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
async def test_every_open_case_goes_on_after_the_server_restarts_on_its_database(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: signal.Signals
) -> None:
    # Settings the worker takes from this process's environment (worker_processes passes it on).
    monkeypatch.setenv("DSR_SYSTEM_WAIT_NOTICE_SECONDS", str(NOTICE_AFTER_SECONDS))
    monkeypatch.setenv("DSR_OUTBOX_WITHOUT_MAILBOX", json.dumps([OBJECTOR]))
    async with dev_server(tmp_path / "temporal.db", tmp_path / "temporal.log") as server:
        urls = system_urls(tmp_path / "own")
        await seed_demo_systems(urls)
        custom = settings.model_copy(
            update={"system_urls": urls, "temporal_address": server.address}
        )
        client = await client_of(custom)
        async with worker_processes(client, custom, 1) as [worker]:
            cases = await open_waiting_cases(client, custom)
            async with readers_blocked(custom.system_url("billing")) as release:
                submitted = await submit(
                    client, custom, DEMO_SUBJECTS["tolvan"], Kind.PORTABILITY, bankid=True
                )
                portability = client.get_workflow_handle(
                    submitted.case_number, result_type=CaseResult
                )
                cases[Kind.PORTABILITY] = portability

                async def timer_set() -> bool | None:
                    started, fired = notice_timer(await history(portability))
                    assert fired is None, "the timer fired before the server went down"
                    return True if started is not None else None

                await until(timer_set, "the case to wait for billing on a timer")
                before = {kind: await status_of(case) for kind, case in cases.items()}
                assert {kind: status.state for kind, status in before.items()} == WAITING
                assert "billing" in {w.system for w in before[Kind.PORTABILITY].waiting_for_systems}

                await server.stop(how)
                stopped_at = datetime.now(UTC)
                await server.start()
                await until(lambda: serving(client), "the server to serve again")

                # Every case is where it was, and listed as it was.
                for kind, case in cases.items():
                    if kind is not Kind.PORTABILITY:
                        assert await status_of(case) == before[kind], kind
                states = {status.case_number: status.state.value for status in before.values()}

                async def listed_as_before() -> bool | None:
                    return True if await listed(client) == states else None

                await until(listed_as_before, "the open cases in the supervisors' list")

                # The timer set before the stop fires after the restart, once.
                async def told() -> CaseStatus | None:
                    current = await status_of(portability)
                    return current if any(w.told_at for w in current.waiting_for_systems) else None

                assert (await until(told, "the assignee to be told")).state is CaseState.COLLECTING
                _, fired = notice_timer(await history(portability))
                assert fired is not None
                assert fired.event_time.ToDatetime(tzinfo=UTC) >= stopped_at

                async def notice_sent() -> list[dict[str, str]] | None:
                    return system_waiting_notices(custom, submitted.case_number) or None

                [notice] = await until(notice_sent, "the notice to the assignee")
                assert notice["role"] == "assignee" and "Gäller: billing." in notice["body"]
                await release()

            # The worker that ran all along is connected again and takes every case to its end.
            assert await until(worker.ready, "the worker to be ready again")
            outcomes = await asyncio.gather(*(finish(kind, case) for kind, case in cases.items()))
            assert dict(zip(cases, outcomes, strict=True)) == OUTCOMES
            assert len(system_waiting_notices(custom, submitted.case_number)) == 1
