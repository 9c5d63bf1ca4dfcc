"""The legal clock: pauses, extension and the escalation ladder, each step once.

Months pass in seconds on the time-skipping server; a case registered 40 days late runs on the
real dev server, with its notices sent over SMTP to a real local mail server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from app.worker_setup import build_activities, create_worker
from contract.actions import ApproveReleaseInput, VerifyIdentityInput
from contract.calendar import STOCKHOLM, gdpr_deadline, is_gdpr_working_day
from contract.case import (
    AskClarificationInput,
    CaseInput,
    CaseResult,
    CaseState,
    Escalation,
    ExtendInput,
    RecordClarificationInput,
)
from contract.intake import RegisterCaseInput, RequestDetails, SubmitRequestInput
from contract.vocabulary import Channel, IdentityMethod, Kind
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from infra.outbox import FakeEidProvider
from tests.databases import sync_url
from tests.helpers import (
    Mailbox,
    record_history,
    release_and_hand_over,
    status_of,
    submit,
    wait_for_state,
)
from workflows.access import AccessRequestWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOLVAN = DEMO_SUBJECTS["tolvan"]
LADDER = [Escalation.REMINDED, Escalation.ESCALATED, Escalation.OVERDUE]


async def registered(
    settings: Settings, received_at: datetime, *, deliver_elsewhere: bool = False
) -> CaseInput:
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
        details=RequestDetails(deliver_elsewhere=deliver_elsewhere),
    )


@asynccontextmanager
async def started(
    env: WorkflowEnvironment, settings: Settings, *, bankid: bool = False
) -> AsyncIterator[tuple[WorkflowHandle[Any, CaseResult], CaseInput, datetime]]:
    """An access case received now (the test server's now), running on a worker for the
    test; with `bankid`, signed at intake, so no identity pause. Without, the subject asks for
    the answer elsewhere than their own mailbox: identity must be proven (and the clock may
    stand still meanwhile)."""
    received = await env.get_current_time()
    case = await registered(settings, received, deliver_elsewhere=not bankid)
    if bankid:
        signed = FakeEidProvider(settings.eid_dir).sign(TOLVAN)
        case = case.model_copy(
            update={"verified_by": IdentityMethod.BANKID, "eid_order_ref": signed}
        )
    async with (
        build_activities(settings) as activities,
        create_worker(env.client, settings, activities),
    ):
        handle = await env.client.start_workflow(
            AccessRequestWorkflow.run,
            case,
            id=case.case_number,
            task_queue=settings.task_queue,
            result_type=CaseResult,
        )
        yield handle, case, received


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


def mailbox_body(settings: Settings, message_id: str) -> str:
    message = settings.outbox_dir / "digital-mailbox" / message_id / "message.json"
    return str(json.loads(message.read_text())["body"])


def register_trail(settings: Settings, case_number: str, like: str) -> list[str]:
    """The actions of the case's trail rows matching `like`, in order."""
    engine = sa.create_engine(sync_url(settings.register_database_url))
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT action FROM case_events WHERE case_number = :case "
                        "AND action LIKE :like ORDER BY step"
                    ),
                    {"case": case_number, "like": like},
                ).scalars()
            )
    finally:
        engine.dispose()


def staff_messages(settings: Settings, case_number: str) -> list[str]:
    return sorted(path.stem for path in (settings.outbox_dir / "staff").glob(f"{case_number}-*"))


async def test_the_ladder_follows_pauses_and_an_extension_and_fires_each_step_once(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with started(skipping_env, settings) as (handle, case, received):
        waiting = await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
        assert waiting.next_escalation is None, "the clock stands still while identity is asked"
        asked = mailbox_body(settings, f"{case.case_number}-identity_requested")
        assert "BankID" in asked and "räknas inte" in asked, "the subject is asked, and told why"

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
        assert reminded.escalation is Escalation.REMINDED

        await handle.execute_update(
            "extend", ExtendInput(handler="anna", reason="Uppgifterna finns i många system.")
        )
        extended = await status_of(handle)
        assert extended.deadline == gdpr_deadline(received, extended=True, paused_days=5)
        body = mailbox_body(settings, f"{case.case_number}-extension")
        assert extended.deadline.isoformat() in body and "många system" in body
        # The ladder starts again for the new deadline.
        assert extended.escalation is Escalation.NONE
        assert extended.next_escalation is not None
        assert extended.next_escalation.step is Escalation.REMINDED
        assert extended.next_escalation.at.date() > review.deadline

        # Past the old deadline nothing more happens: the timers follow the new one.
        await skip_to(skipping_env, review.deadline_at + timedelta(days=2))  # type: ignore[operator]
        assert [e.step for e in (await status_of(handle)).escalations] == [Escalation.REMINDED]
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update("extend", ExtendInput(handler="anna", reason="Igen."))
        assert "already extended" in str(twice.value.cause)

        assert extended.deadline_at is not None
        await skip_to(skipping_env, extended.deadline_at + timedelta(days=1))
        overdue = await status_of(handle)
        # Once for the old deadline, the reminder; then each step once for the new one, in order.
        assert [e.step for e in overdue.escalations] == [Escalation.REMINDED, *LADDER]
        assert [e.deadline for e in overdue.escalations][1:] == [extended.deadline] * 3
        assert overdue.escalation is Escalation.OVERDUE
        number = case.case_number
        assert staff_messages(settings, number) == [
            f"{number}-assignee-reminder",
            f"{number}-assignee-reminder-g1",
            f"{number}-dpo-escalated-g1",
            f"{number}-dpo-overdue-g1",
            f"{number}-team_lead-escalated-g1",
        ]
        await release_and_hand_over(handle)
        await record_history(handle, "access_paused_extended_overdue")
        closed = await status_of(handle)
    assert closed.state is CaseState.CLOSED
    assert closed.escalation is Escalation.OVERDUE, "it was late; that stays on the case"


# --- a reminder that would fall on a day off comes the working day before --------------------


def receipt_with_reminder_on_a_day_off(today: datetime) -> datetime:
    """A day of receipt within the last weeks whose reminder (ten days before the deadline)
    would fall on a weekend or holiday that has not come yet."""
    for offset in range(30):
        received = (today - timedelta(days=offset)).astimezone(STOCKHOLM)
        reminder_day = gdpr_deadline(received) - timedelta(days=10)
        if not is_gdpr_working_day(reminder_day) and reminder_day > today.date() + timedelta(2):
            return received
    raise AssertionError("no such day of receipt in the last 30 days")


async def test_a_reminder_that_falls_on_a_day_off_comes_the_working_day_before(
    client: Client, worker: Settings
) -> None:
    received = receipt_with_reminder_on_a_day_off(datetime.now(UTC))
    submitted = await submit(client, worker, TOLVAN, Kind.ACCESS, bankid=True, received_at=received)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    step = review.next_escalation
    assert step is not None and step.step is Escalation.REMINDED
    day_off = review.deadline - timedelta(days=10)
    fires = step.at.astimezone(STOCKHOLM).date()
    assert fires < day_off and is_gdpr_working_day(fires)
    assert all(
        not is_gdpr_working_day(fires + timedelta(days=n))
        for n in range(1, (day_off - fires).days + 1)
    ), "the last working day before, not an earlier one"
    await handle.terminate("test over")


# --- a case registered late, on the dev server, with the notices by e-mail -------------------


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
        trail = register_trail(smtp, submitted.case_number, "escalation:%")
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

    assert len(box.messages) == 4, "each notice sent once"
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


async def test_the_pause_ends_the_day_the_proof_was_supplied_not_the_day_it_was_recorded(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with started(skipping_env, settings) as (handle, case, received):
        await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
        asked = received.astimezone(STOCKHOLM).date()
        # The signed letter arrived two days after the question; a handler records it a
        # week after that. The clock stood still for two days, not nine.
        await skipping_env.sleep(timedelta(days=9))
        with pytest.raises(WorkflowUpdateFailedError) as future:
            await handle.execute_update(
                "verify_identity",
                VerifyIdentityInput(
                    method=IdentityMethod.SIGNED_LETTER,
                    handler="anna",
                    supplied_on=asked + timedelta(days=30),
                ),
            )
        assert "is in the future" in str(future.value.cause)
        await handle.execute_update(
            "verify_identity",
            VerifyIdentityInput(
                method=IdentityMethod.SIGNED_LETTER,
                handler="anna",
                supplied_on=asked + timedelta(days=2),
            ),
        )
        review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        assert review.deadline == gdpr_deadline(received, paused_days=2)
        (pause,) = review.pauses
        assert pause.ended_at is not None
        assert pause.ended_at.astimezone(STOCKHOLM).date() == asked + timedelta(days=2)
        await skip_to(skipping_env, review.deadline_at + timedelta(hours=1))  # type: ignore[operator]
        await release_and_hand_over(handle)


async def test_a_clarification_asked_in_time_stops_the_clock_and_one_asked_late_does_not(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with started(skipping_env, settings, bankid=True) as (handle, case, received):
        await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        await skipping_env.sleep(timedelta(days=1))
        question = "Gäller din begäran även det avslutade fiberavtalet?"
        await handle.execute_update(
            "ask_clarification", AskClarificationInput(handler="anna", question=question)
        )
        asked = await status_of(handle)
        assert asked.awaiting_clarification and asked.next_escalation is None
        body = mailbox_body(settings, f"{case.case_number}-clarification_requested-1")
        assert question in body and "räknas inte" in body
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

        # Asked again three weeks after receipt: too late to stop the clock (DOMAIN: within 3
        # working days), whatever weekdays and holidays the test server's date falls on.
        await skipping_env.sleep(timedelta(days=14))
        await handle.execute_update(
            "ask_clarification", AskClarificationInput(handler="anna", question="En sak till?")
        )
        late = await status_of(handle)
        assert late.awaiting_clarification and late.next_escalation is not None
        assert [p.counts for p in late.pauses] == [True, False]
        late_body = mailbox_body(settings, f"{case.case_number}-clarification_requested-2")
        assert "räknas inte" not in late_body, "no pause is promised that does not count"
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


async def test_a_clarification_asked_while_identity_is_awaited_pauses_the_days_once(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with started(skipping_env, settings) as (handle, case, received):
        await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
        await skipping_env.sleep(timedelta(days=1))
        await handle.execute_update(
            "ask_clarification", AskClarificationInput(handler="anna", question="Vilket avtal?")
        )
        await skipping_env.sleep(timedelta(days=2))
        await handle.execute_update(
            "record_clarification", RecordClarificationInput(handler="anna")
        )
        assert (await status_of(handle)).next_escalation is None, "identity is still awaited"
        await skipping_env.sleep(timedelta(days=2))
        await handle.execute_update(
            "verify_identity", VerifyIdentityInput(method=IdentityMethod.ID_CHECKED, handler="anna")
        )
        review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        # Identity was awaited for five days, the clarification for two of them: five in all.
        assert review.deadline == gdpr_deadline(received, paused_days=5)
        assert all(p.ended_at is not None for p in review.pauses)
        step = review.next_escalation
        assert step is not None and step.step is Escalation.REMINDED, "the clock runs again"
        await skip_to(skipping_env, step.at + timedelta(hours=1))
        assert [e.step for e in (await status_of(handle)).escalations] == [Escalation.REMINDED]
        await handle.terminate("test over")


async def test_a_refused_staff_address_is_recorded_and_never_keeps_a_case_open(
    client: Client, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    smtp = settings.model_copy(update={"staff_channel": "smtp", "smtp_port": port})
    box.unknown.add(smtp.dpo_email)  # a mistyped DPO address
    received = datetime.now(UTC) - timedelta(days=40)
    async with build_activities(smtp) as activities, create_worker(client, smtp, activities):
        submitted = await submit(
            client, smtp, TOLVAN, Kind.ACCESS, bankid=True, received_at=received
        )
        handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
        await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        for _ in range(100):
            trail = register_trail(smtp, submitted.case_number, "staff_notice_failed:%")
            if len(trail) == 2:
                break
            await asyncio.sleep(0.1)
        assert sorted(trail) == [
            "staff_notice_failed:dpo:escalated",
            "staff_notice_failed:dpo:overdue",
        ]
        assert (await status_of(handle)).escalation is Escalation.OVERDUE
        await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
        result = await asyncio.wait_for(handle.result(), 30)
    assert result.case_number == submitted.case_number
    assert sorted(m["To"] for m in box.messages) == sorted(
        ["anna@exempelstad-energi.example", smtp.team_lead_email]
    )
