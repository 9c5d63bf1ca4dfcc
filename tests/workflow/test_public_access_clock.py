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

from app.worker_setup import build_activities, create_worker
from contract.actions import ApproveReleaseInput
from contract.calendar import STOCKHOLM, add_swedish_working_days
from contract.case import CaseInput, CaseResult, CaseState, Escalation, Outcome
from contract.intake import RegisterCaseInput, SubmitRequestInput
from contract.public_access import (
    ConfirmDocumentsInput,
    FormalDecisionInput,
    RecordDecisionReceiptInput,
    RegisterAppealInput,
    RequestFormalDecisionInput,
    ReviewDocumentInput,
)
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.vocabulary import Channel, Kind, ReviewDecision, SecrecyGround
from infra.config import Settings
from tests.helpers import record_history, status_of, wait_for_state
from workflows.public_access import PublicAccessWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONTRACTS = PublicRequest(
    description="Entreprenadavtal om schaktning",
    query=DocumentQuery(types=["contractor_agreement"]),
    contact=Contact(email="journalist@example.org"),
)


BY_LETTER = CONTRACTS.model_copy(
    update={"contact": Contact(name="Kim Ek", postal_address=["Box 12", "721 00 Västerås"])}
)


async def registered(
    settings: Settings, received_at: datetime, public: PublicRequest = CONTRACTS
) -> CaseInput:
    """A public-access case registered as intake registers it (started directly here: the
    time-skipping server does not skip time for a case started as intake's child)."""
    request = SubmitRequestInput(
        kind=Kind.PUBLIC_ACCESS, received_at=received_at, assignee="anna", public=public
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
        public=public,
    )


@asynccontextmanager
async def running(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[None]:
    async with (
        build_activities(settings) as activities,
        create_worker(env.client, settings, activities),
    ):
        yield


async def start(
    env: WorkflowEnvironment, settings: Settings, public: PublicRequest = CONTRACTS
) -> tuple[WorkflowHandle[Any, CaseResult], CaseInput]:
    case = await registered(settings, await env.get_current_time(), public)
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


def thursday_before_christmas(today: date) -> date:
    """The next 23 December that is a Thursday (2027, 2032, ...), at least a day ahead."""
    year = today.year
    while date(year, 12, 23).weekday() != 3 or date(year, 12, 23) <= today:
        year += 1
    return date(year, 12, 23)


async def test_an_undecided_request_escalates_after_one_and_after_three_working_days(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    # Received on a Thursday 23 December: Christmas Eve (Friday) is no working day under Lag
    # 1930:173, nor the weekend of Christmas and Boxing Day; Monday 27 is the first.
    today = (await skipping_env.get_current_time()).astimezone(STOCKHOLM).date()
    received = thursday_before_christmas(today)
    year = received.year
    first, second, fourth = date(year, 12, 27), date(year, 12, 28), date(year, 12, 30)
    await skip_to(skipping_env, stockholm(received, 14))
    async with running(skipping_env, settings):
        handle, case = await start(skipping_env, settings)
        await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
        assert case.deadline == first

        # Nothing before the first working day's morning; reminded on it, escalated the
        # morning after it (one working day without a decision), overdue the morning after
        # the third.
        await skip_to(skipping_env, stockholm(first, 7))
        assert (await status_of(handle)).escalation is Escalation.NONE
        await skip_to(skipping_env, stockholm(second, 7))
        assert (await status_of(handle)).escalation is Escalation.REMINDED
        await skip_to(skipping_env, stockholm(second, 9))
        assert (await status_of(handle)).escalation is Escalation.ESCALATED
        await skip_to(skipping_env, stockholm(fourth, 7))
        assert (await status_of(handle)).escalation is Escalation.ESCALATED
        await skip_to(skipping_env, stockholm(fourth, 9))
        status = await status_of(handle)
        assert status.escalation is Escalation.OVERDUE
        taken = [(e.step, e.at.astimezone(STOCKHOLM)) for e in status.escalations]
        assert [(step, at.replace(second=0, microsecond=0)) for step, at in taken] == [
            (Escalation.REMINDED, stockholm(first, 8)),
            (Escalation.ESCALATED, stockholm(second, 8)),
            (Escalation.OVERDUE, stockholm(fourth, 8)),
        ]
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
    env: WorkflowEnvironment,
    decision_day: date,
    settings: Settings,
    public: PublicRequest = CONTRACTS,
) -> tuple[WorkflowHandle[Any, CaseResult], str]:
    """A case whose one document is withheld, a formal decision asked for and made by a
    delegate on `decision_day`."""
    handle, case = await start(env, settings, public)
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
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)  # the handler looks at the answer
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_DECISION_REQUEST)
    await skip_to(env, stockholm(decision_day, 9))
    await handle.execute_update(
        "request_formal_decision", RequestFormalDecisionInput(handler="anna")
    )
    await wait_for_state(handle, CaseState.AWAITING_FORMAL_DECISION)
    # Someone without delegated authority cannot decide; nothing changes.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("make_formal_decision", FormalDecisionInput(handler="anna"))
    assert "decision maker with delegation for public-access decisions" in str(refused.value.cause)
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
        posted, posted_number = await refused_and_decided(
            skipping_env, decision_day, settings, BY_LETTER
        )
        status = await status_of(timely)
        assert status.public is not None
        assert status.public.decision_received_on == decision_day
        assert status.public.appeal_window_end == last_day
        assert status.public.formal_decision_by == "chef.jurist"
        decision = settings.outbox_dir / "email" / f"{timely_number}-decision" / "beslut.html"
        text = decision.read_text()
        assert "OSL 31:16" in text and "Kammarrätten i Stockholm" in text
        assert "inom tre veckor" in text and "Delegationsordning 2026" in text
        letter = settings.outbox_dir / "letters" / f"{posted_number}-decision"
        assert "Box 12" in (letter / "address.txt").read_text()

        # An appeal cannot come in from the future.
        with pytest.raises(WorkflowUpdateFailedError) as future:
            await timely.execute_update(
                "register_appeal",
                RegisterAppealInput(handler="anna", received_on=last_day),
            )
        assert "is in the future" in str(future.value.cause)

        # In on the period's last day (the Monday after Christmas), registered the day after;
        # the other in one day after the last day. (All registered before awaiting a result:
        # the test server skips time while a client waits for one.)
        await skip_to(skipping_env, stockholm(last_day + timedelta(days=1)))
        await timely.execute_update(
            "register_appeal", RegisterAppealInput(handler="anna", received_on=last_day)
        )
        too_late = RegisterAppealInput(handler="anna", received_on=last_day + timedelta(days=1))
        # Dismissing it is a decision: not for someone without delegated authority.
        with pytest.raises(WorkflowUpdateFailedError) as not_delegate:
            await late.execute_update("register_appeal", too_late)
        assert "no delegated authority to dismiss a late appeal" in str(not_delegate.value.cause)
        await late.execute_update(
            "register_appeal", too_late.model_copy(update={"handler": "chef.jurist"})
        )
        # The same day, against the decision sent by letter that arrived a week after it was
        # posted: the period runs from that day, so it is in time.
        await posted.execute_update(
            "register_appeal",
            RegisterAppealInput(
                handler="anna",
                received_on=last_day + timedelta(days=1),
                decision_received_on=decision_day + timedelta(days=7),
            ),
        )

        assert (await timely.result()).outcome is Outcome.APPEAL_FORWARDED
        forwarded = settings.outbox_dir / "letters" / f"{timely_number}-appeal"
        assert "Kammarrätten i Stockholm" in (forwarded / "address.txt").read_text()
        assert (forwarded / "beslut.html").exists()  # the decision goes with it

        # The late one is dismissed, and the requester is told.
        assert (await late.result()).outcome is Outcome.APPEAL_DISMISSED
        dismissal = settings.outbox_dir / "email" / f"{late_number}-appeal_dismissed"
        assert "för sent" in (dismissal / "avvisning.html").read_text()
        appeal = (await status_of(late)).public.appeal  # type: ignore[union-attr]
        assert appeal is not None and not appeal.timely and appeal.period_end == last_day

        assert (await posted.result()).outcome is Outcome.APPEAL_FORWARDED
        appeal = (await status_of(posted)).public.appeal  # type: ignore[union-attr]
        assert appeal is not None and appeal.timely and appeal.period_end is not None
        assert appeal.period_end > last_day + timedelta(days=1)
        await record_history(timely, "public_access_appeal_forwarded")
        await record_history(late, "public_access_appeal_dismissed")
        await record_history(posted, "public_access_appeal_after_letter")


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
        closed = status.steps[-1].at
        # Closed at the end of the last day plus the days kept open for late registrations.
        end = datetime.combine(status.public.appeal_window_end, time(23, 59, 59), STOCKHOLM)
        expected = end + timedelta(days=settings.late_appeal_days)
        assert abs(closed - expected) < timedelta(minutes=5)


async def test_a_decision_by_letter_waits_for_its_receipt_and_no_unshown_receipt_makes_it_late(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """FL 44-46 §§: the period runs from the day the decision reached the requester, which for
    a letter must be shown; where it cannot be, a late appeal is not dismissed; one that
    reached the court in time never is; what goes to the court carries the decision and the
    documents it concerns, the withheld one as it is in the archive."""
    today = (await skipping_env.get_current_time()).astimezone(STOCKHOLM).date()
    decision_day = add_swedish_working_days(today, 2)
    async with running(skipping_env, settings):
        unshown, unshown_number = await refused_and_decided(
            skipping_env, decision_day, settings, BY_LETTER
        )
        shown, _ = await refused_and_decided(skipping_env, decision_day, settings, BY_LETTER)
        court, court_number = await refused_and_decided(skipping_env, decision_day, settings)
        pending = await status_of(unshown)
        assert pending.public is not None and pending.public.receipt_pending
        assert pending.public.appeal_window_end is None, "the period has not begun"

        # A receipt shown for one: the three weeks run from it.
        receipt_day = decision_day + timedelta(days=1)
        await skip_to(skipping_env, stockholm(receipt_day + timedelta(days=1)))
        await shown.execute_update(
            "record_decision_receipt",
            RecordDecisionReceiptInput(
                handler="anna", received_on=receipt_day, evidence="Mottagningsbevis"
            ),
        )
        counted = await status_of(shown)
        assert counted.public is not None and not counted.public.receipt_pending
        assert counted.public.decision_received_on == receipt_day
        last_day = counted.public.appeal_window_end
        assert last_day is not None and last_day >= receipt_day + timedelta(weeks=3)

        # After the periods ended (still within the days kept open for late registrations): the
        # appeal against the unshown letter is not late; the one that reached the court in
        # time is not either, though it reached us late.
        court_window = (await status_of(court)).public
        assert court_window is not None and court_window.appeal_window_end is not None
        late_day = max(last_day, court_window.appeal_window_end) + timedelta(days=2)
        await skip_to(skipping_env, stockholm(late_day))
        await unshown.execute_update(
            "register_appeal", RegisterAppealInput(handler="anna", received_on=late_day)
        )
        await court.execute_update(
            "register_appeal",
            RegisterAppealInput(
                handler="anna",
                received_on=late_day,
                court_received_on=court_window.appeal_window_end,
            ),
        )
        # The one whose receipt was shown is late now: dismissed, by a delegate.
        await shown.execute_update(
            "register_appeal", RegisterAppealInput(handler="chef.jurist", received_on=late_day)
        )

        assert (await unshown.result()).outcome is Outcome.APPEAL_FORWARDED
        appeal = (await status_of(unshown)).public.appeal  # type: ignore[union-attr]
        assert appeal is not None and appeal.basis == "receipt_not_shown"
        assert (await court.result()).outcome is Outcome.APPEAL_FORWARDED
        appeal = (await status_of(court)).public.appeal  # type: ignore[union-attr]
        assert appeal is not None and appeal.basis == "reached_court_in_time"
        assert (await shown.result()).outcome is Outcome.APPEAL_DISMISSED

        forwarded = settings.outbox_dir / "letters" / f"{court_number}-appeal"
        files = {p.name: p.read_text() for p in forwarded.iterdir()}
        assert "beslut.html" in files
        [secret] = [text for name, text in files.items() if name.startswith("till-domstolen-")]
        assert secret.startswith("SEKRETESSBELAGD HANDLING") and "46 § förvaltningslagen" in secret
        assert "Ersättning" in secret, "the withheld document as it is in the archive"
        assert "45 § andra stycket" in files["letter.html"]
        unshown_letter = settings.outbox_dir / "letters" / f"{unshown_number}-appeal"
        assert "44 § förvaltningslagen" in (unshown_letter / "letter.html").read_text()
        await record_history(unshown, "public_access_appeal_receipt_not_shown")
