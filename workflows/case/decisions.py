"""A handler's decision: taken once, by whom the roster allows, in the state it belongs to;
the actions open in most states (refuse, reassign, link, record a manual delivery).
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

from contract import handling, search
from contract.actions import ActionResult, RecordManualDeliveryInput, RefuseInput
from contract.case import CaseState, ReassignInput
from contract.handling import LINK, REASSIGN, RECORD_MANUAL_DELIVERY, REFUSE
from contract.public_access import LinkCaseInput
from workflows.case.state import CaseCore, WrongState

# Where a handler's decision is pending, a request may be refused (Art. 12(5)).
REFUSABLE = frozenset(
    {CaseState.AWAITING_IDENTITY, CaseState.AWAITING_REVIEW, CaseState.AWAITING_DECISION}
)


class Decisions(CaseCore):
    """Who decides, once; the handler actions shared by every kind."""

    def _check_answer_day(self, day: date | None, what: str) -> None:
        """The day the subject answered: not in the future, not before the request came in."""
        if day is None:
            return
        number = self._case.case_number
        # Stockholm is at most two hours ahead of UTC: no day later than this has begun there.
        if day > (workflow.now() + timedelta(hours=2)).date():
            raise WrongState(f"case {number}: {day} is in the future; give the day {what}")
        if day < self._case.received_at.date():
            raise WrongState(
                f"case {number}: {day} is before the request came in; give the day {what}"
            )

    @workflow.update(name=REFUSE.update)
    async def refuse(self, action: RefuseInput) -> ActionResult:
        await self._take_decision_for(REFUSE, action.handler)
        state = self._state
        self._refusal = action
        return await self._after(state)

    @refuse.validator
    def _validate_refuse(self, action: RefuseInput) -> None:
        blocked = self._refusal_blocked()
        if blocked:
            raise WrongState(f"case {self._case.case_number}: {blocked}")
        if self._state not in REFUSABLE:
            raise WrongState(
                f"case {self._case.case_number} is {self._state.value}; a request can be "
                "refused only while a handler's decision is pending"
            )
        self._check_decision(REFUSE, self._state, action.handler)

    @workflow.update(name=RECORD_MANUAL_DELIVERY.update)
    async def record_manual_delivery(self, action: RecordManualDeliveryInput) -> ActionResult:
        await self._take_decision_for(RECORD_MANUAL_DELIVERY, action.handler)
        self._manual = action
        return await self._after(CaseState.AWAITING_MANUAL_DELIVERY)

    @record_manual_delivery.validator
    def _validate_record_manual_delivery(self, action: RecordManualDeliveryInput) -> None:
        self._check_decision(
            RECORD_MANUAL_DELIVERY, CaseState.AWAITING_MANUAL_DELIVERY, action.handler
        )

    @workflow.update(name=REASSIGN.update)
    async def reassign(self, action: ReassignInput) -> ActionResult:
        await self._authorize(action.handler, self._reassigning(action))
        # Checked again against the roster as it stands now, and the case as it is now.
        self._revalidate(self._validate_reassign, action)
        self._assignee = action.to
        workflow.upsert_search_attributes([search.ASSIGNEE.value_set(action.to)])
        await self._record_clock_event(
            actor=action.handler, action="reassign", detail=f"to {action.to}"
        )
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @reassign.validator
    def _validate_reassign(self, action: ReassignInput) -> None:
        if self._state is CaseState.CLOSED:
            raise WrongState(f"case {self._case.case_number} is closed")
        if self._assignee is not None and action.to.casefold() == self._assignee.casefold():
            raise WrongState(f"case {self._case.case_number} is already assigned to {action.to}")
        self._check_role(action.handler, self._reassigning(action))
        self._check_role(action.to, "take_case")

    def _reassigning(self, action: ReassignInput) -> str:
        """The assignee may hand their own case on; another's case takes a team lead."""
        mine = self._assignee is not None and self._assignee.casefold() == action.handler.casefold()
        return "hand_on" if mine else "reassign"

    @workflow.update(name=LINK.update)
    async def link(self, action: LinkCaseInput) -> ActionResult:
        await self._authorize(action.handler, LINK.role_action)
        self._revalidate(self._validate_link, action)
        if action.other not in self._links:
            self._links.append(action.other)
            await self._record_clock_event(
                actor=action.handler, action="link", detail=f"with {action.other}"
            )
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @link.validator
    def _validate_link(self, action: LinkCaseInput) -> None:
        if self._state is CaseState.CLOSED:
            raise WrongState(f"case {self._case.case_number} is closed")
        if action.other == self._case.case_number:
            raise WrongState(f"case {self._case.case_number} cannot be linked with itself")
        self._check_role(action.handler, LINK.role_action)

    def _refusal_blocked(self) -> str | None:
        """Why this kind can never be refused, if it cannot (a hook for subclasses)."""
        return None

    def _require_open(self, state: CaseState, what: str) -> None:
        """Validator check: the right state, and nobody has decided this step yet."""
        if self._state is not state:
            raise WrongState(
                f"case {self._case.case_number} is {self._state.value}; "
                f"you can {what} only while it is {state.value}"
            )
        if self._decision_taken:
            raise WrongState(self._taken_message())

    def _taken_message(self) -> str:
        if self._deciding:
            return (
                f"case {self._case.case_number}: another handler's action on this step is being "
                "checked; try again in a moment"
            )
        return f"case {self._case.case_number}: another handler has already decided this step"

    async def _take_decision(self, action: str, handler: str) -> None:
        """Take the pending decision for `handler`, if the roster as it stands now allows it
        `action`. Should two updates both pass their validators before either handler runs,
        the first to get here wins and the other is refused; a refused actor, or a case that
        moved on meanwhile, leaves the decision open."""
        if self._decision_taken:
            raise WrongState(self._taken_message())
        state = self._state
        self._decision_taken = self._deciding = True
        try:
            await self._authorize(handler, action)
            if self._state is not state:
                raise WrongState(
                    f"case {self._case.case_number} moved on to {self._state.value} meanwhile; "
                    "nothing was done"
                )
        except BaseException:
            if self._state is state:
                self._decision_taken = False
            raise
        finally:
            self._deciding = False
        # The case goes to whoever takes its first decision, if they may be assigned cases.
        if self._assignee is None and self._may(handler, "take_case"):
            self._assignee = handler

    def _check_decision(
        self, action: handling.Action, state: CaseState, handler: str, *, what: str = ""
    ) -> None:
        """Validator of a decision: the case waits in `state` for this one, nobody has taken
        it, and the roster the case read last allows `handler` the action's role."""
        self._require_open(state, what or action.what)
        self._check_role(handler, action.role_action)

    async def _take_decision_for(self, action: handling.Action, handler: str) -> None:
        """Take the decision `action` is, for `handler` (see `_take_decision`)."""
        await self._take_decision(action.role_action, handler)

    async def _after(self, state: CaseState) -> ActionResult:
        """Return once the workflow has acted on the decision, so the caller sees the new state."""
        await workflow.wait_condition(lambda: self._state is not state)
        return ActionResult(case_number=self._case.case_number, state=self._state)
