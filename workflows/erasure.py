"""Erasure (GDPR Art. 17) under statutory retention, with a durable follow-up for what is kept."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from dsr import search
from dsr.models import (
    ActionResult,
    ApproveErasurePlanInput,
    CaseInput,
    CaseResult,
    CaseState,
    EraseDueInput,
    ErasurePlanResult,
    ErasureSummary,
    ExecuteErasureInput,
    Outcome,
    PlanCollectionInput,
    PlanErasureInput,
    PrepareErasurePlanInput,
    RecordEventInput,
    RejectErasurePlanInput,
    RetentionFollowUpInput,
    RetentionFollowUpResult,
)
from workflows.case import (
    ART19_RESTRICTION_ERASURE_PATCH,
    ENGINE,
    PERSISTENT,
    SHORT_TIMEOUT,
    CaseWorkflow,
    WrongState,
)

with workflow.unsafe.imports_passed_through():
    from activities.erasure import ErasureActivities
    from activities.register import RegisterActivities
    from activities.sources import SourceActivities

# Kept parts are erased in runs at most this far apart, so a table with a date per row (meter
# readings) costs a run a month, not a run a day; nothing stays longer than that past its date.
FOLLOW_UP_BATCH = timedelta(days=30)
# Trail rows of the follow-up are numbered from here, clear of the case's own steps.
FOLLOW_UP_TRAIL_KEY = 10_000
WRITE_TIMEOUT = timedelta(minutes=10)
ACTIONS_SV = {"delete": "raderas", "anonymise": "avidentifieras", "keep": "sparas"}


@workflow.defn
class ErasureWorkflow(CaseWorkflow):
    """Erases what may be erased and keeps, restricted, what the law says must stay.

    registered -> [awaiting_identity] -> planning -> awaiting_decision (a handler prepares the
    plan) -> awaiting_approval (a second person approves it) -> applying -> sending_notice (the
    answer, per category with dates) -> closed. Where rows must be kept with a date, a
    RetentionFollowUpWorkflow (id CASE-retention) erases them when their time comes.
    Updates, beyond those of every case: `prepare_erasure_plan` (awaiting_decision),
    `approve_erasure_plan` (awaiting_approval; not by the one who prepared it),
    `reject_erasure_plan` (awaiting_approval, with a reason: plan again, prepare and approve
    again).
    Outcomes: completed (all erased), partly_completed (some kept), refused, closed_unverified.
    """

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)
        self._plan: ErasurePlanResult | None = None
        self._preparer: str | None = None
        self._approver: str | None = None
        self._plan_rejection: RejectErasurePlanInput | None = None

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        verified = await self._verified()
        if verified is None:
            return await self._identity_step_ended()
        (actor, action), detail = verified, None
        while True:
            await self._enter(CaseState.PLANNING, actor=actor, action=action, detail=detail)
            self._plan = await workflow.execute_activity_method(
                ErasureActivities.plan_erasure,
                PlanErasureInput(
                    case_number=case.case_number, subject_id=case.subject_id, today=self._today()
                ),
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=PERSISTENT,
            )
            self._erasure_plan = self._plan.items
            await self._enter(CaseState.AWAITING_DECISION, actor=ENGINE, action="plan_ready")
            if not await self._wait_for_handler(lambda: self._preparer is not None):
                return await self._close_refused()
            assert self._preparer is not None
            await self._enter(
                CaseState.AWAITING_APPROVAL, actor=self._preparer, action="prepare_erasure_plan"
            )
            await workflow.wait_condition(
                lambda: self._approver is not None or self._plan_rejection is not None
            )
            if self._approver is not None:
                break
            # Sent back: plan again as of today, and a preparer and an approver start over.
            rejection = self._plan_rejection
            assert rejection is not None
            actor, action, detail = rejection.handler, "reject_erasure_plan", rejection.reason
            self._preparer = self._plan_rejection = None
        await self._enter(CaseState.APPLYING, actor=self._approver, action="approve_erasure_plan")
        kept = [item for item in self._plan.items if item.action == "keep"]
        if kept:
            # What is kept stays restricted: a hold no other case's lift can remove.
            await self._hold_restriction(True)
        await self._execute(self._plan)
        dated = [item.keep_from for item in kept if item.keep_from is not None]
        if dated:
            # The first day any kept row may go, not the last: the earliest rows go first.
            await self._start_follow_up(min(dated) + timedelta(days=1))
        return await self._notify_and_close(
            "erasure_answer",
            Outcome.PARTLY_COMPLETED if kept else Outcome.COMPLETED,
            actor=ENGINE,
            action="erased",
            facts=answer_facts(self._plan.items),
        )

    # --- updates ---------------------------------------------------------------------------

    @workflow.update
    async def prepare_erasure_plan(self, action: PrepareErasurePlanInput) -> ActionResult:
        self._claim(action.handler)
        self._preparer = action.handler
        return await self._after(CaseState.AWAITING_DECISION)

    @prepare_erasure_plan.validator
    def _validate_prepare(self, action: PrepareErasurePlanInput) -> None:
        self._require_open(CaseState.AWAITING_DECISION, "prepare the erasure plan")

    @workflow.update
    async def approve_erasure_plan(self, action: ApproveErasurePlanInput) -> ActionResult:
        self._claim(action.handler)
        self._approver = action.handler
        return await self._after(CaseState.AWAITING_APPROVAL)

    @approve_erasure_plan.validator
    def _validate_approve(self, action: ApproveErasurePlanInput) -> None:
        self._require_open(CaseState.AWAITING_APPROVAL, "approve the erasure plan")
        preparer = self._preparer or ""
        if action.handler.casefold() == preparer.casefold():
            raise WrongState(
                f"case {self._case.case_number}: the plan was prepared by {action.handler}; "
                "another person must approve it (four eyes)"
            )

    @workflow.update
    async def reject_erasure_plan(self, action: RejectErasurePlanInput) -> ActionResult:
        self._claim(action.handler)
        self._plan_rejection = action
        return await self._after(CaseState.AWAITING_APPROVAL)

    @reject_erasure_plan.validator
    def _validate_reject(self, action: RejectErasurePlanInput) -> None:
        self._require_open(CaseState.AWAITING_APPROVAL, "send the erasure plan back")

    # --- steps -----------------------------------------------------------------------------

    def _today(self) -> date:
        return workflow.now().date()

    async def _execute(self, plan: ErasurePlanResult) -> None:
        systems = sorted({item.system for item in plan.items})
        results = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    ErasureActivities.execute_erasure,
                    ExecuteErasureInput(
                        case_number=self._case.case_number,
                        system=system,
                        subject_id=self._case.subject_id,
                        plan_ref=plan.ref,
                    ),
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=PERSISTENT,
                )
                for system in systems
            )
        )
        for result in results:
            if result.tables:
                self._applied[f"erasure:{result.system}"] = result.tables
        if workflow.patched(ART19_RESTRICTION_ERASURE_PATCH):
            await self._notify_recipients(
                [name for result in results for name in result.recipients], "erasure"
            )

    async def _start_follow_up(self, next_due: date) -> None:
        await workflow.start_child_workflow(
            RetentionFollowUpWorkflow.run,
            RetentionFollowUpInput(
                case_number=self._case.case_number,
                subject_id=self._case.subject_id,
                plan_ref=self._plan.ref if self._plan else "",
                next_due=next_due,
            ),
            id=f"{self._case.case_number}-retention",
            task_queue=workflow.info().task_queue,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search.CASE_NUMBER, self._case.case_number),
                    SearchAttributePair(search.STATE, CaseState.RETAINING.value),
                ]
            ),
        )


@workflow.defn
class RetentionFollowUpWorkflow:
    """Erases the kept parts of an erasure case as their retention ends, without anyone
    remembering it: sleeps until the next date, plans again as of that day in every system,
    erases what may go, and repeats until nothing with a date is left. Parts kept without a
    date (a running contract, an archived document, rows shared with someone else) stay
    restricted; a new request or a disposal decision deals with them.
    """

    @workflow.run
    async def run(self, follow_up: RetentionFollowUpInput) -> RetentionFollowUpResult:
        runs, erased = follow_up.runs, dict[str, int]()
        next_due: date | None = follow_up.next_due
        while next_due is not None:
            await self._sleep_until(next_due)
            runs += 1
            next_due = await self._erase_due(follow_up, runs, erased)
            if next_due is not None and workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    follow_up.model_copy(update={"next_due": next_due, "runs": runs})
                )
        return RetentionFollowUpResult(case_number=follow_up.case_number, runs=runs, erased=erased)

    async def _sleep_until(self, due: date) -> None:
        wake = datetime.combine(due, time(2, 0), workflow.now().tzinfo)
        if wake > workflow.now():
            await workflow.sleep(wake - workflow.now())

    async def _erase_due(
        self, follow_up: RetentionFollowUpInput, run: int, erased: dict[str, int]
    ) -> date | None:
        today = workflow.now().date()
        plan = await workflow.execute_activity_method(
            SourceActivities.plan_collection,
            PlanCollectionInput(case_number=follow_up.case_number),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        results = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    ErasureActivities.erase_due,
                    EraseDueInput(
                        case_number=follow_up.case_number,
                        system=system,
                        subject_id=follow_up.subject_id,
                        today=today,
                        plan_ref=follow_up.plan_ref,
                    ),
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=PERSISTENT,
                )
                for system in plan.systems
            )
        )
        this_run = {f"{r.system}.{t}": n for r in results for t, n in r.erased.items() if n}
        for key, rows in this_run.items():
            erased[key] = erased.get(key, 0) + rows
        await workflow.execute_activity_method(
            RegisterActivities.record_event,
            RecordEventInput(
                case_number=follow_up.case_number,
                key=FOLLOW_UP_TRAIL_KEY + run,
                actor=ENGINE,
                action="retention_run",
                detail=", ".join(f"{k}: {v}" for k, v in sorted(this_run.items())) or "-",
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        dates = [r.next_due for r in results if r.next_due is not None]
        if not dates:
            return None
        return max(min(dates), today + FOLLOW_UP_BATCH)


def answer_facts(items: list[ErasureSummary]) -> dict[str, str]:
    """The answer per category with dates, in Swedish, for the notice to the subject."""
    erased, kept = [], []
    for item in items:
        if item.action != "keep":
            erased.append(f"{item.label} ({ACTIONS_SV[item.action]}, {item.rows} st.)")
        elif item.keep_until is None:
            kept.append(f"{item.label}: sparas tills vidare. {item.reason}")
        elif item.keep_from == item.keep_until:
            kept.append(f"{item.label}: sparas till och med {item.keep_until}. {item.reason}")
        else:
            kept.append(
                f"{item.label}: sparas till och med {item.keep_from}–{item.keep_until} och "
                f"raderas därefter löpande. {item.reason}"
            )
    return {
        "erased": "; ".join(erased) or "inga",
        "kept": " ".join(kept) or "inga",
    }
