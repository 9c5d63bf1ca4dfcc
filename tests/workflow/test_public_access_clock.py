"""Public access on the time-skipping server: "skyndsamt" escalation in working days, and a
refusal through a formal decision by a delegate to an appeal in time and one too late, with
the three weeks ending on Christmas Eve (Lag 1930:173)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from dsr.calendar import STOCKHOLM, add_swedish_working_days, is_swedish_working_day
from dsr.config import Settings
from dsr.models import (
    CaseInput,
    CaseResult,
    CaseState,
    Channel,
    ConfirmDocumentsInput,
    Contact,
    DocumentQuery,
    Escalation,
    FormalDecisionInput,
    Kind,
    Outcome,
    PublicRequest,
    RegisterAppealInput,
    RegisterCaseInput,
    RequestFormalDecisionInput,
    ReviewDecision,
    ReviewDocumentInput,
    SecrecyGround,
    SubmitRequestInput,
)
from dsr.worker_setup import build_activities, create_worker
from tests.helpers import record_history, status_of, wait_for_state
from workflows.public_access import PublicAccessWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONTRACTS = PublicRequest(
    description="Entreprenadavtal om schaktning",
    query=DocumentQuery(types=["contractor_agreement"]),
    contact=Contact(email="journalist@example.org"),
)


async def registered(settings: Settings, received_at: datetime) -> CaseInput:
    """A public-access case registered as intake registers it (started directly here: the
    time-skipping server does not skip time for a case started as intake's child)."""
    request = SubmitRequestInput(
        kind=Kind.PUBLIC_ACCESS, received_at=received_at, assignee="anna", public=CONTRACTS
    )
    async with build_activities(settings) as activities:
        by_name = {getattr(a, "__name__", ""): a for a in activities}
        opened = await ActivityEnvironment().run(
            by_name["register_case"],
            RegisterCaseInput(request=request, intake_id=f"test-{uuid.uuid4()}"),
        )
    return CaseInput(
        case_number=opened.case_number,
        kind=Kind.PUBLIC_ACCESS,
        received_at=received_at,
        deadline=opened.deadline,
        deadline_at=opened.deadline_at,
        channel=Channel.E_SERVICE,
        assignee="anna",
        public=CONTRACTS,
    )


@asynccontextmanager
async def running(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[None]:
    async with (
        build_activities(settings) as activities,
        create_worker(env.client, settings, activities),
    ):
        yield


async def start(
    env: WorkflowEnvironment, settings: Settings
) -> tuple[WorkflowHandle[Any, CaseResult], CaseInput]:
    case = await registered(settings, await env.get_current_time())
    handle = await env.client.start_workflow(
        PublicAccessWorkflow.run,
        case,
        id=case.case_number,
        task_queue=settings.task_queue,
        result_type=CaseResult,
    )
    return handle, case


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


def stockholm(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=STOCKHOLM)


async def test_an_undecided_request_escalates_after_one_and_after_three_working_days(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with running(skipping_env, settings):
        handle, case = await start(skipping_env, settings)
        await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
        received = case.received_at.astimezone(STOCKHOLM).date()
        one, two, four = (add_swedish_working_days(received, n) for n in (1, 2, 4))
        assert case.deadline == one

        # Nothing before the first working day's morning; reminded on it, escalated the
        # morning after it, overdue the morning after the third.
        await skip_to(skipping_env, stockholm(one, 7))
        assert (await status_of(handle)).escalation is Escalation.NONE
        await skip_to(skipping_env, stockholm(two, 7))
        assert (await status_of(handle)).escalation is Escalation.REMINDED
        await skip_to(skipping_env, stockholm(two, 9))
        assert (await status_of(handle)).escalation is Escalation.ESCALATED
        await skip_to(skipping_env, stockholm(four, 7))
        assert (await status_of(handle)).escalation is Escalation.ESCALATED
        await skip_to(skipping_env, stockholm(four, 9))
        status = await status_of(handle)
        assert status.escalation is Escalation.OVERDUE
        taken = [(e.step, e.at.astimezone(STOCKHOLM)) for e in status.escalations]
        assert [(step, at.replace(second=0, microsecond=0)) for step, at in taken] == [
            (Escalation.REMINDED, stockholm(one, 8)),
            (Escalation.ESCALATED, stockholm(two, 8)),
            (Escalation.OVERDUE, stockholm(four, 8)),
        ]
        # Every working day in between counts: none of them is a weekend or holiday.
        assert all(is_swedish_working_day(d) for d in (one, two, four))
        staff = sorted(
            p.stem for p in (settings.outbox_dir / "staff").glob(f"{case.case_number}-*")
        )
        assert staff == [
            f"{case.case_number}-assignee-public_escalated",
            f"{case.case_number}-assignee-public_reminder",
            f"{case.case_number}-team_lead-public_escalated",
            f"{case.case_number}-team_lead-public_overdue",
        ]
        await handle.terminate("test over")


def christmas_eve_decision_day(now: date) -> date:
    """The next 3 December at least two days ahead: its three weeks end on Christmas Eve."""
    year = now.year if now <= date(now.year, 12, 1) else now.year + 1
    return date(year, 12, 3)


def first_weekday_from(day: date) -> date:
    """An oracle apart from the calendar module: after Christmas Eve, Christmas Day and Boxing
    Day, the period ends on the first Monday-to-Friday from 27 December."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def refused_and_decided(
    env: WorkflowEnvironment, decision_day: date, settings: Settings
) -> tuple[WorkflowHandle[Any, CaseResult], str]:
    """A case whose one document is withheld, a formal decision asked for and made by a
    delegate on `decision_day`."""
    handle, case = await start(env, settings)
    located = await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
    assert located.public is not None
    document = located.public.candidates[0].document_id
    await handle.execute_update(
        "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[document])
    )
    await wait_for_state(handle, CaseState.SECRECY_REVIEW)
    await handle.execute_update(
        "review_document",
        ReviewDocumentInput(
            handler="anna",
            document_id=document,
            decision=ReviewDecision.WITHHOLD,
            ground=SecrecyGround.BUSINESS_RELATIONS,
        ),
    )
    await wait_for_state(handle, CaseState.AWAITING_DECISION_REQUEST)
    await skip_to(env, stockholm(decision_day, 9))
    await handle.execute_update(
        "request_formal_decision", RequestFormalDecisionInput(handler="anna")
    )
    await wait_for_state(handle, CaseState.AWAITING_FORMAL_DECISION)
    # Someone without delegated authority cannot decide; nothing changes.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("make_formal_decision", FormalDecisionInput(handler="anna"))
    assert "holds no delegated authority" in str(refused.value.cause)
    assert (await status_of(handle)).state is CaseState.AWAITING_FORMAL_DECISION
    await handle.execute_update("make_formal_decision", FormalDecisionInput(handler="chef.jurist"))
    await wait_for_state(handle, CaseState.AWAITING_APPEAL)
    return handle, case.case_number


async def test_a_timely_appeal_is_forwarded_and_a_late_one_dismissed(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    today = (await skipping_env.get_current_time()).astimezone(STOCKHOLM).date()
    decision_day = christmas_eve_decision_day(today)
    assert decision_day + timedelta(weeks=3) == date(decision_day.year, 12, 24)
    last_day = first_weekday_from(date(decision_day.year, 12, 27))
    # The requester may ask for a formal decision until the test's December comes round.
    settings = settings.model_copy(update={"formal_decision_request_days": 400})
    async with running(skipping_env, settings):
        timely, timely_number = await refused_and_decided(skipping_env, decision_day, settings)
        late, late_number = await refused_and_decided(skipping_env, decision_day, settings)
        status = await status_of(timely)
        assert status.public is not None
        assert status.public.decision_received_on == decision_day
        assert status.public.appeal_window_end == last_day
        assert status.public.formal_decision_by == "chef.jurist"
        decision = settings.outbox_dir / "email" / f"{timely_number}-decision" / "beslut.html"
        text = decision.read_text()
        assert "OSL 31:16" in text and "Kammarrätten i Stockholm" in text
        assert "inom tre veckor" in text and "Delegationsordning 2026" in text

        # An appeal cannot come in from the future.
        with pytest.raises(WorkflowUpdateFailedError) as future:
            await timely.execute_update(
                "register_appeal",
                RegisterAppealInput(handler="anna", received_on=last_day),
            )
        assert "is in the future" in str(future.value.cause)

        # In on the period's last day (the Monday after Christmas), registered the day after;
        # the other in one day after the last day. (Both registered before awaiting a result:
        # the test server skips time while a client waits for one.)
        await skip_to(skipping_env, stockholm(last_day + timedelta(days=1)))
        await timely.execute_update(
            "register_appeal", RegisterAppealInput(handler="anna", received_on=last_day)
        )
        await late.execute_update(
            "register_appeal",
            RegisterAppealInput(handler="anna", received_on=last_day + timedelta(days=1)),
        )
        assert (await timely.result()).outcome is Outcome.APPEAL_FORWARDED
        forwarded = settings.outbox_dir / "letters" / f"{timely_number}-appeal"
        assert "Kammarrätten i Stockholm" in (forwarded / "address.txt").read_text()
        assert (forwarded / "beslut.html").exists()  # the decision goes with it

        # The late one is dismissed, and the requester is told.
        assert (await late.result()).outcome is Outcome.APPEAL_DISMISSED
        dismissal = settings.outbox_dir / "email" / f"{late_number}-appeal_dismissed"
        assert "för sent" in (dismissal / "avvisning.html").read_text()
        assert (await status_of(late)).public.appeal.timely is False  # type: ignore[union-attr]
        await record_history(timely, "public_access_appeal_forwarded")
        await record_history(late, "public_access_appeal_dismissed")


async def test_a_decision_not_appealed_becomes_final_when_the_period_and_late_days_pass(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    today = (await skipping_env.get_current_time()).astimezone(STOCKHOLM).date()
    decision_day = add_swedish_working_days(today, 2)
    async with running(skipping_env, settings):
        handle, _ = await refused_and_decided(skipping_env, decision_day, settings)
        assert (await handle.result()).outcome is Outcome.DECISION_FINAL
        status = await status_of(handle)
        assert status.public is not None and status.public.appeal_window_end is not None
        closed = status.steps[-1].at.astimezone(STOCKHOLM)
        # Closed at the end of the last day plus the days kept open for late registrations.
        assert closed.date() == status.public.appeal_window_end + timedelta(
            days=settings.late_appeal_days
        )
