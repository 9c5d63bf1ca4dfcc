"""The legal clock: pauses, extension and the escalation ladder, each step once.

Months pass in seconds on the time-skipping server; a case registered 40 days late runs on the
real dev server, with its notices sent over SMTP to a real local mail server.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from dsr.adapters import FakeEidProvider
from dsr.calendar import gdpr_deadline
from dsr.config import Settings
from dsr.models import (
    ApproveReleaseInput,
    AskClarificationInput,
    CaseInput,
    CaseResult,
    CaseState,
    Channel,
    Escalation,
    ExtendInput,
    IdentityMethod,
    Kind,
    RecordClarificationInput,
    RegisterCaseInput,
    SubmitRequestInput,
    VerifyIdentityInput,
)
from dsr.worker_setup import build_activities, create_worker
from systems.demo import DEMO_SUBJECTS
from tests.helpers import record_history, status_of, submit, wait_for_state
from workflows.access import AccessRequestWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOLVAN = DEMO_SUBJECTS["tolvan"]
LADDER = [Escalation.REMINDED, Escalation.ESCALATED, Escalation.OVERDUE]


async def registered(settings: Settings, received_at: datetime) -> CaseInput:
    """A case registered as intake registers it, ready to start on any server."""
    async with build_activities(settings) as activities:
        by_name = {getattr(a, "__name__", ""): a for a in activities}
        opened = await ActivityEnvironment().run(
            by_name["register_case"],
            RegisterCaseInput(
                request=SubmitRequestInput(
                    kind=Kind.ACCESS, subject_id=TOLVAN, received_at=received_at
                ),
                intake_id="test",
            ),
        )
    return CaseInput(
        case_number=opened.case_number,
        kind=Kind.ACCESS,
        subject_id=TOLVAN,
        received_at=received_at,
        deadline=opened.deadline,
        deadline_at=opened.deadline_at,
        channel=Channel.E_SERVICE,
        assignee="anna",
    )


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


def staff_messages(settings: Settings, case_number: str) -> list[str]:
    return sorted(path.stem for path in (settings.outbox_dir / "staff").glob(f"{case_number}-*"))


async def test_the_ladder_follows_pauses_and_an_extension_and_fires_each_step_once(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    received = await skipping_env.get_current_time()
    case = await registered(settings, received)
    async with (
        build_activities(settings) as activities,
        create_worker(client, settings, activities),
    ):
        handle = await client.start_workflow(
            AccessRequestWorkflow.run, case, id=case.case_number, task_queue=settings.task_queue
        )
        waiting = await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
        assert waiting.next_escalation is None, "the clock stands still while identity is asked"

        # Five days until the subject proves who they are: the deadline moves five days on.
        await skipping_env.sleep(timedelta(days=5))
        await handle.execute_update(
            "verify_identity", VerifyIdentityInput(method=IdentityMethod.ID_CHECKED, handler="anna")
        )
        review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        assert review.deadline == gdpr_deadline(received, paused_days=5)
        assert len(review.pauses) == 1 and review.pauses[0].ended_at is not None
        assert review.original_deadline == case.deadline != review.deadline
        step = review.next_escalation
        assert step is not None and step.step is Escalation.REMINDED

        await skip_to(skipping_env, step.at + timedelta(hours=1))
        reminded = await status_of(handle)
        assert [e.step for e in reminded.escalations] == [Escalation.REMINDED]

        await handle.execute_update(
            "extend", ExtendInput(handler="anna", reason="Uppgifterna finns i många system.")
        )
        extended = await status_of(handle)
        assert extended.deadline == gdpr_deadline(received, extended=True, paused_days=5)
        notice = settings.outbox_dir / "digital-mailbox" / f"{case.case_number}-extension"
        body = json.loads((notice / "message.json").read_text())["body"]
        assert extended.deadline.isoformat() in body and "många system" in body

        # Past the old deadline nothing more happens: the timers follow the new one.
        await skip_to(skipping_env, review.deadline_at + timedelta(days=2))  # type: ignore[operator]
        assert [e.step for e in (await status_of(handle)).escalations] == [Escalation.REMINDED]
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update("extend", ExtendInput(handler="anna", reason="Igen."))
        assert "already extended" in str(twice.value.cause)

        assert extended.deadline_at is not None
        await skip_to(skipping_env, extended.deadline_at + timedelta(days=1))
        overdue = await status_of(handle)
        assert [e.step for e in overdue.escalations] == LADDER, "each step once, in order"
        assert overdue.escalation is Escalation.OVERDUE
        assert staff_messages(settings, case.case_number) == [
            f"{case.case_number}-assignee-reminder",
            f"{case.case_number}-dpo-escalated",
            f"{case.case_number}-dpo-overdue",
            f"{case.case_number}-team_lead-escalated",
        ]
        await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
        await handle.result()
        await record_history(handle, "access_paused_extended_overdue")
        closed = await status_of(handle)
    assert closed.state is CaseState.CLOSED
    assert closed.escalation is Escalation.OVERDUE, "it was late; that stays on the case"
    assert [e.step for e in closed.escalations] == LADDER


# --- a case registered late, on the dev server, with the notices by e-mail -------------------


class Mailbox:
    """A real SMTP server on a free local port that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


async def test_a_case_received_40_days_ago_is_overdue_at_once_each_step_once_by_email(
    client: Client, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    smtp = settings.model_copy(update={"staff_channel": "smtp", "smtp_port": port})
    received = datetime.now(UTC) - timedelta(days=40)
    async with build_activities(smtp) as activities, create_worker(client, smtp, activities):
        submitted = await submit(
            client, smtp, TOLVAN, Kind.ACCESS, bankid=True, received_at=received
        )
        handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
        current = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        for _ in range(100):
            if current.escalation is Escalation.OVERDUE:
                break
            await asyncio.sleep(0.1)
            current = await status_of(handle)
        assert [e.step for e in current.escalations] == LADDER
        assert current.deadline < datetime.now(UTC).date()
        # The register's trail: each step once, in order.
        engine = sa.create_engine(smtp.register_database_url.replace("+aiosqlite", ""))
        with engine.connect() as conn:
            trail = list(
                conn.execute(
                    sa.text(
                        "SELECT action FROM case_events WHERE case_number = :case "
                        "AND action LIKE 'escalation:%' ORDER BY step"
                    ),
                    {"case": submitted.case_number},
                ).scalars()
            )
        engine.dispose()
        assert trail == [f"escalation:{step.value}" for step in LADDER]

        # Supervisors find it with the UI's query (the CLI's `list --overdue` uses the same).
        query = f'DsrEscalation = "overdue" AND DsrCaseNumber = "{submitted.case_number}"'
        for _ in range(100):
            found = [e.id async for e in client.list_workflows(query)]
            if found:
                break
            await asyncio.sleep(0.1)
        assert found == [submitted.case_number]
        with pytest.raises(WorkflowUpdateFailedError) as late:
            await handle.execute_update(
                "extend", ExtendInput(handler="anna", reason="Behöver mer tid.")
            )
        assert "the original deadline" in str(late.value.cause)

    mails = {(m["To"], m["Subject"]): m for m in box.messages}
    addresses = [to for to, _ in mails]
    assert sorted(addresses) == sorted(
        [
            "anna@exempelstad-energi.example",  # the assignee's reminder
            smtp.team_lead_email,  # the escalation
            smtp.dpo_email,  # told of the escalation
            smtp.dpo_email,  # and of the overdue case
        ]
    )
    for (_, subject), mail in mails.items():
        body = mail.get_payload()
        assert isinstance(body, str)
        assert submitted.case_number in subject
        assert "access" in body and current.deadline.isoformat() in body
        for personal in (TOLVAN, TOLVAN[2:], "Tolvan"):
            assert personal not in subject + body


async def test_a_clarification_asked_in_time_stops_the_clock_and_one_asked_late_does_not(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = skipping_env.client
    received = await skipping_env.get_current_time()
    case = await registered(settings, received)
    signed = FakeEidProvider(settings.eid_dir).sign(TOLVAN)  # BankID at intake: no pause
    case = case.model_copy(update={"verified_by": IdentityMethod.BANKID, "eid_order_ref": signed})
    async with (
        build_activities(settings) as activities,
        create_worker(client, settings, activities),
    ):
        handle = await client.start_workflow(
            AccessRequestWorkflow.run, case, id=case.case_number, task_queue=settings.task_queue
        )
        await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        await skipping_env.sleep(timedelta(days=1))
        question = "Gäller din begäran även det avslutade fiberavtalet?"
        await handle.execute_update(
            "ask_clarification", AskClarificationInput(handler="anna", question=question)
        )
        asked = await status_of(handle)
        assert asked.awaiting_clarification and asked.next_escalation is None
        mailbox = settings.outbox_dir / "digital-mailbox"
        body = json.loads(
            (mailbox / f"{case.case_number}-clarification_requested-1" / "message.json").read_text()
        )["body"]
        assert question in body
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update(
                "ask_clarification", AskClarificationInput(handler="anna", question="Och?")
            )
        assert "already waits for a clarification" in str(twice.value.cause)

        await skipping_env.sleep(timedelta(days=6))
        await handle.execute_update(
            "record_clarification", RecordClarificationInput(handler="anna")
        )
        answered = await status_of(handle)
        assert not answered.awaiting_clarification
        assert answered.deadline == gdpr_deadline(received, paused_days=6)
        assert [p.reason for p in answered.pauses] == ["clarification"]

        # Asked again two weeks after receipt: too late to stop the clock (DOMAIN: 3 days).
        await handle.execute_update(
            "ask_clarification", AskClarificationInput(handler="anna", question="En sak till?")
        )
        late = await status_of(handle)
        assert late.awaiting_clarification and late.next_escalation is not None
        assert len(late.pauses) == 1
        await handle.execute_update(
            "record_clarification", RecordClarificationInput(handler="anna")
        )
        assert (await status_of(handle)).deadline == answered.deadline
        with pytest.raises(WorkflowUpdateFailedError) as nothing:
            await handle.execute_update(
                "record_clarification", RecordClarificationInput(handler="anna")
            )
        assert "waits for no clarification" in str(nothing.value.cause)
        await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
        await handle.result()
        await record_history(handle, "access_clarifications")
