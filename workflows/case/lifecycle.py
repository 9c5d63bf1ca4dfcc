"""Entering states: the `status` query, the search attributes and the register's trail kept in
step; closing; the steps a withdrawal must let finish; staff notices; a manual hand-over.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from temporalio import workflow
from temporalio.common import SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

from contract import search
from contract.actions import RecordManualDeliveryInput
from contract.case import CaseResult, CaseState, Outcome, StepRecord
from contract.extracts import ExtractDisposalInput
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.steps import NotifyStaffInput, RecordTransitionInput
from workflows.case.patches import EXTRACT_DISPOSAL_PATCH, PATCHES_AT_START_PATCH
from workflows.case.state import ENGINE, CaseCore
from workflows.disposal import ExtractDisposalWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities
    from activities.register import RegisterActivities


class Lifecycle(CaseCore):
    """State changes, closing, shields against a withdrawal, staff notices, hand-overs."""

    def _has_stored_files(self) -> bool:
        """Whether the case left files in the extract store (a hook for kinds that do)."""
        return False

    async def _schedule_disposal(self) -> None:
        """A workflow of its own deletes the case's files when their days have passed."""
        await workflow.start_child_workflow(
            ExtractDisposalWorkflow.run,
            ExtractDisposalInput(case_number=self._case.case_number, closed_at=workflow.now()),
            id=f"{self._case.case_number}-extract-disposal",
            task_queue=workflow.info().task_queue,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(search.CASE_NUMBER, self._case.case_number)]
            ),
        )

    async def _tell_staff(self, role: str, event: str, *, key: str = "", detail: str = "") -> None:
        """A message to the DPO, the team lead or the assignee: the case and what happened."""
        async with self._shielded():
            await workflow.execute_activity_method(
                NotifyActivities.notify_staff,
                NotifyStaffInput(
                    case_number=self._case.case_number,
                    kind=self._case.kind,
                    role=role,
                    event=event,
                    deadline=self._deadline,
                    assignee=self._assignee,
                    notice_key=key,
                    detail=detail,
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )

    async def _hand_over_manually(
        self, reason: str, *, actor: str = ENGINE, action: str = "manual_handling"
    ) -> RecordManualDeliveryInput:
        """Wait for a handler to hand over what the engine may not or cannot send."""
        self._manual_handling_reason = reason
        self._manual = None
        await self._enter(
            CaseState.AWAITING_MANUAL_DELIVERY, actor=actor, action=action, detail=reason
        )
        await workflow.wait_condition(lambda: self._manual is not None)
        assert self._manual is not None
        return self._manual

    async def _enter(
        self,
        state: CaseState,
        *,
        actor: str,
        action: str,
        detail: str | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        async with self._shielded():
            await self._entered(state, actor=actor, action=action, detail=detail, outcome=outcome)

    async def _entered(
        self,
        state: CaseState,
        *,
        actor: str,
        action: str,
        detail: str | None,
        outcome: Outcome | None,
    ) -> None:
        await self._start_clock()
        previous = self._state
        self._state = state
        self._decision_taken = False
        if state in self.ANSWERED_STATES:
            self._answered = True
            self._clock_version += 1
        self._step += 1
        self._steps.append(
            StepRecord(state=state, action=action, actor=actor, at=workflow.now(), detail=detail)
        )
        updates: list[SearchAttributeUpdate[str]] = [search.STATE.value_set(state.value)]
        if self._assignee is not None:
            updates.append(search.ASSIGNEE.value_set(self._assignee))
        workflow.upsert_search_attributes(updates)
        await workflow.execute_activity_method(
            RegisterActivities.record_transition,
            RecordTransitionInput(
                case_number=self._case.case_number,
                step=self._step,
                actor=actor,
                action=action,
                from_state=previous,
                to_state=state,
                assignee=self._assignee,
                outcome=outcome,
                detail=detail or None,
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    async def _close(
        self, outcome: Outcome, *, actor: str, action: str, detail: str | None = None
    ) -> CaseResult:
        async with self._shielded():
            self._outcome = outcome
            await self._enter(
                CaseState.CLOSED, actor=actor, action=action, detail=detail, outcome=outcome
            )
            # The clock stops; an overdue mark stays. Staff notices still on their way may finish.
            await self._stop_clock()
            if self._has_stored_files() and workflow.patched(EXTRACT_DISPOSAL_PATCH):
                await self._schedule_disposal()
            # Handlers still returning their result must finish before the workflow completes.
            await workflow.wait_condition(workflow.all_handlers_finished)
            return CaseResult(
                case_number=self._case.case_number, outcome=outcome, delivery=self._delivery
            )

    def _patches_at_start(self) -> None:
        """Decide every patch of the case now, before its first local activity (see
        PATCHES_AT_START_PATCH); each later `workflow.patched` of them gives the same answer
        and records nothing more. The first thing a case's run does."""
        if workflow.patched(PATCHES_AT_START_PATCH):
            for patch in self.PATCHES:
                workflow.patched(patch)

    @contextlib.asynccontextmanager
    async def _shielded(self) -> AsyncIterator[None]:
        """A step a withdrawal must let finish: a state change and its trail row, writes in
        the systems, an answer or a notice going out."""
        self._shields += 1
        try:
            yield
        finally:
            self._shields -= 1
