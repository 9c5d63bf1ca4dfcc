"""Erasure (GDPR Art. 17) under statutory retention; what is kept is followed up by
workflows/retention.py."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

from contract import search
from contract.actions import (
    ActionResult,
    ApproveErasurePlanInput,
    PrepareErasurePlanInput,
    RejectErasurePlanInput,
)
from contract.case import CaseInput, CaseResult, CaseState, ErasureSummary, Outcome
from contract.erasure import (
    FOLLOWED_UNDATED,
    CheckErasurePlanInput,
    ErasurePlanResult,
    ExecuteErasureInput,
    PlanErasureInput,
    RetentionFollowUpInput,
)
from contract.handling import APPROVE_ERASURE_PLAN, PREPARE_ERASURE_PLAN, REJECT_ERASURE_PLAN
from contract.policies import PERSISTENT
from contract.steps import SystemWriteResult
from workflows.case.patches import ART19_RESTRICTION_ERASURE_PATCH
from workflows.case.state import ENGINE, WrongState
from workflows.case.workflow import CaseWorkflow
from workflows.retention import (
    DISPOSAL_RULES_PATCH,
    ERASURE_PLAN_CHECK_PATCH,
    FOLLOW_UP_UNDATED_PATCH,
    WRITE_TIMEOUT,
    RetentionFollowUpWorkflow,
    answer_facts,
    merged,
)

with workflow.unsafe.imports_passed_through():
    from activities.erasure import ErasureActivities
    from activities.writes import WriteActivities


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

    PATCHES = (
        *CaseWorkflow.PATCHES,
        ERASURE_PLAN_CHECK_PATCH,
        DISPOSAL_RULES_PATCH,
        ART19_RESTRICTION_ERASURE_PATCH,
        FOLLOW_UP_UNDATED_PATCH,
    )

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)
        self._plan: ErasurePlanResult | None = None
        self._preparer: str | None = None
        self._approver: str | None = None
        self._plan_rejection: RejectErasurePlanInput | None = None
        # What a round stopped part-way erased, for the answer (the next plan no longer has it).
        self._erased_before: list[ErasureSummary] = []

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await self._withdrawable(self._handle(case))

    async def _after_identity(self, case: CaseInput, actor: str, action: str) -> CaseResult:
        detail: str | None = None
        while True:
            await self._enter(CaseState.PLANNING, actor=actor, action=action, detail=detail)
            self._plan = await workflow.execute_activity_method(
                ErasureActivities.plan_erasure,
                PlanErasureInput(
                    case_number=case.case_number, subject_id=self._subject, today=self._today()
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
            # Sent back, outdated by approval time, or stopped: plan again as of today, and a
            # preparer and an approver start over.
            if self._approver is None:
                rejection = self._plan_rejection
                assert rejection is not None
                actor, action, detail = rejection.handler, "reject_erasure_plan", rejection.reason
                self._preparer = self._plan_rejection = None
                continue
            approver, self._preparer, self._approver = self._approver, None, None
            outdated = await self._plan_outdated(self._plan)
            if outdated:
                actor, action = approver, "approve_erasure_plan"
                detail = "The plan is outdated and was made again: " + "; ".join(outdated)
                continue
            await self._enter(CaseState.APPLYING, actor=approver, action="approve_erasure_plan")
            if any(item.action == "keep" for item in self._plan.items):
                # What is kept stays restricted: a hold no other case's lift can remove.
                await self._hold_restriction(True)
            blocked = await self._execute(self._plan)
            if blocked is None:
                break
            actor, action, detail = ENGINE, "erasure_blocked", blocked
            await self._tell_staff("assignee", "erasure_blocked")
        kept = [item for item in self._plan.items if item.action == "keep"]
        dated = [item.keep_from for item in kept if item.keep_from is not None]
        # The first day any kept row may go, not the last: the earliest rows go first.
        first = min(dated) + timedelta(days=1) if dated else None
        if workflow.patched(FOLLOW_UP_UNDATED_PATCH):
            followed = self._followed_undated()
            if any(item.rule in followed for item in kept):
                # A contract may end any day: followed from tomorrow. Cases before this patch
                # followed dated parts only.
                tomorrow = self._today() + timedelta(days=1)
                first = min(first, tomorrow) if first else tomorrow
        if first is not None:
            await self._start_follow_up(first)
        # A marketing block kept after an objection is kept personal data too: partly.
        partly = kept or any(item.action == "suppress" for item in self._plan.items)
        return await self._notify_and_close(
            "erasure_answer",
            Outcome.PARTLY_COMPLETED if partly else Outcome.COMPLETED,
            actor=ENGINE,
            action="erased",
            facts={
                **answer_facts(merged(self._erased_before, self._plan.items)),
                "recipients": self._told_recipients_sv(),
            },
        )

    # --- updates ---------------------------------------------------------------------------

    @workflow.update(name=PREPARE_ERASURE_PLAN.update)
    async def prepare_erasure_plan(self, action: PrepareErasurePlanInput) -> ActionResult:
        await self._take_decision_for(PREPARE_ERASURE_PLAN, action.handler)
        self._preparer = action.handler
        return await self._after(CaseState.AWAITING_DECISION)

    @prepare_erasure_plan.validator
    def _validate_prepare(self, action: PrepareErasurePlanInput) -> None:
        self._check_decision(PREPARE_ERASURE_PLAN, CaseState.AWAITING_DECISION, action.handler)

    @workflow.update(name=APPROVE_ERASURE_PLAN.update)
    async def approve_erasure_plan(self, action: ApproveErasurePlanInput) -> ActionResult:
        await self._take_decision_for(APPROVE_ERASURE_PLAN, action.handler)
        self._approver = action.handler
        return await self._after(CaseState.AWAITING_APPROVAL)

    @approve_erasure_plan.validator
    def _validate_approve(self, action: ApproveErasurePlanInput) -> None:
        self._require_open(CaseState.AWAITING_APPROVAL, APPROVE_ERASURE_PLAN.what)
        preparer = self._preparer or ""
        if action.handler.casefold() == preparer.casefold():
            raise WrongState(
                f"case {self._case.case_number}: the plan was prepared by {action.handler}; "
                "another person must approve it (four eyes)"
            )
        self._check_role(action.handler, APPROVE_ERASURE_PLAN.role_action)

    @workflow.update(name=REJECT_ERASURE_PLAN.update)
    async def reject_erasure_plan(self, action: RejectErasurePlanInput) -> ActionResult:
        await self._take_decision_for(REJECT_ERASURE_PLAN, action.handler)
        self._plan_rejection = action
        return await self._after(CaseState.AWAITING_APPROVAL)

    @reject_erasure_plan.validator
    def _validate_reject(self, action: RejectErasurePlanInput) -> None:
        self._check_decision(REJECT_ERASURE_PLAN, CaseState.AWAITING_APPROVAL, action.handler)

    # --- steps -----------------------------------------------------------------------------

    def _today(self) -> date:
        return workflow.now().date()

    def _withdrawal_consequences(self) -> str:
        """An erasure carried out stays carried out; kept parts are no longer restricted for
        it."""
        if not self._erased_before:
            return super()._withdrawal_consequences()
        erased = answer_facts(self._erased_before)["erased"]
        return (
            f"Det som redan raderats förblir raderat: {erased}. Det som sparas begränsas inte "
            "längre för din begäran."
        )

    async def _undo_for_withdrawal(self) -> None:
        """Kept rows were restricted for the erasure: that hold goes with the request."""
        if self._holding_restriction and await self._hold_restriction(False) == 0:
            await self._write_everywhere(
                WriteActivities.apply_restriction, "lift", restricted=False
            )

    def _followed_undated(self) -> tuple[str, ...]:
        """The reasons to keep without a date that the follow-up waits out: a running contract.
        Rows under no disposal rule are official documents kept for good (arkivlagen 1990:782):
        nothing in this case ends that. Cases before the document plan also waited for an
        archive decision on them."""
        if workflow.patched(DISPOSAL_RULES_PATCH):
            return ("running_contract",)
        return FOLLOWED_UNDATED

    async def _plan_outdated(self, plan: ErasurePlanResult) -> list[str]:
        """What changed since the plan was made (see `check_erasure_plan`); [] if nothing.

        Cases approved before this check existed executed their plan as approved.
        """
        if not workflow.patched(ERASURE_PLAN_CHECK_PATCH):
            return []
        check = await workflow.execute_activity_method(
            ErasureActivities.check_erasure_plan,
            CheckErasurePlanInput(
                case_number=self._case.case_number,
                subject_id=self._subject,
                today=self._today(),
                plan_ref=plan.ref,
            ),
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        return check.changes

    async def _execute(self, plan: ErasurePlanResult) -> str | None:
        """Execute the plan in every system at once; tell the recipients of what went.

        Returns None, or why a system stopped (a row the plan did not know of refers to one it
        erases): then what was erased before, in that system and the others, stands and is
        answered, and the case is planned again.
        """
        systems = sorted({item.system for item in plan.items})
        outcomes = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    ErasureActivities.execute_erasure,
                    ExecuteErasureInput(
                        case_number=self._case.case_number,
                        system=system,
                        subject_id=self._subject,
                        plan_ref=plan.ref,
                    ),
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=PERSISTENT,
                )
                for system in systems
            ),
            return_exceptions=True,
        )
        results: list[SystemWriteResult] = []
        stopped: list[str] = []
        for outcome in outcomes:
            if isinstance(outcome, SystemWriteResult):
                results.append(outcome)
                if outcome.blocked:
                    stopped.append(outcome.blocked)
            elif (
                isinstance(outcome, ActivityError)
                and isinstance(outcome.cause, ApplicationError)
                and outcome.cause.type == "ErasureBlocked"
            ):
                stopped.append(outcome.cause.message)  # as workers before partial results
            else:
                raise outcome
        for result in results:
            if result.tables:
                self._applied[f"erasure:{result.system}"] = result.tables
        if workflow.patched(ART19_RESTRICTION_ERASURE_PATCH):
            await self._notify_recipients(
                [name for result in results for name in result.recipients],
                "erasure",
                categories=[c for result in results for c in result.categories],
            )
        if not stopped:
            return None
        done = {
            (result.system, table)
            for result in results
            for table in (
                result.done_tables
                if result.blocked
                else [i.table for i in plan.items if i.system == result.system]
            )
        }
        self._erased_before += [
            item
            for item in plan.items
            if (item.system, item.table) in done and item.action != "keep"
        ]
        return "Erasure stopped: " + "; ".join(stopped)

    async def _start_follow_up(self, next_due: date) -> None:
        await workflow.start_child_workflow(
            RetentionFollowUpWorkflow.run,
            RetentionFollowUpInput(
                case_number=self._case.case_number,
                subject_id=self._subject,
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
