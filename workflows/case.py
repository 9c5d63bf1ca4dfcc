"""The lifecycle every request kind shares: state, trail, search attributes, identity, status.

A case workflow's id is its case number. Its state changes only through `_enter`, which keeps
the `status` query, the search attributes and the case register's trail in step.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from dsr import search
from dsr.models import (
    ActionResult,
    CaseInput,
    CaseResult,
    CaseState,
    CaseStatus,
    CloseUnverifiedInput,
    ConfirmEidInput,
    DeliveryReceipt,
    Escalation,
    ExtractResult,
    IdentityMethod,
    IdentityRecord,
    Outcome,
    RecordManualDeliveryInput,
    RecordTransitionInput,
    SendNoticeInput,
    StepRecord,
    VerifyIdentityInput,
)

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.identity import IdentityActivities
    from activities.register import RegisterActivities

# Register writes and notices are small and must eventually happen: retry without a limit,
# backing off to once a minute while a database or provider is down.
PERSISTENT = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
SHORT_TIMEOUT = timedelta(seconds=30)
ENGINE = "engine"


class WrongState(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, type="WrongState", non_retryable=True)


class CaseWorkflow:
    """Shared state and handlers. Subclasses define `run` and their own review steps.

    Updates (accepted only in the state named, and only once per decision):
    - `verify_identity` (awaiting_identity): method and handler; the case goes on to collection.
    - `close_unverified` (awaiting_identity): handler and reason; a notice goes to the subject
      with the right to complain to IMY (sending_notice), and the case closes as
      closed_unverified.
    - `record_manual_delivery` (awaiting_manual_delivery): how a handler handed over what could
      not be sent (protected identity, no digital mailbox).
    Query: `status` -> CaseStatus, in every state.
    """

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        self._case = case
        self._state = CaseState.REGISTERED
        self._step = 0  # step 0, registration, was written by intake
        self._steps: list[StepRecord] = []
        self._assignee = case.assignee
        self._identity: IdentityRecord | None = None
        self._unverified: CloseUnverifiedInput | None = None
        self._extract: ExtractResult | None = None
        self._delivery: DeliveryReceipt | None = None
        self._outcome: Outcome | None = None
        self._manual_handling_reason: str | None = None
        self._manual: RecordManualDeliveryInput | None = None

    # --- queries ---------------------------------------------------------------------------

    @workflow.query
    def status(self) -> CaseStatus:
        return CaseStatus(
            case_number=self._case.case_number,
            kind=self._case.kind,
            state=self._state,
            received_at=self._case.received_at,
            deadline=self._case.deadline,
            channel=self._case.channel,
            assignee=self._assignee,
            escalation=Escalation.NONE,
            identity=self._identity,
            steps=list(self._steps),
            extract=self._extract,
            delivery=self._delivery,
            outcome=self._outcome,
            manual_handling_reason=self._manual_handling_reason,
        )

    # --- identity --------------------------------------------------------------------------

    @workflow.update
    async def verify_identity(self, action: VerifyIdentityInput) -> ActionResult:
        self._claim_once(action.handler, self._identity_undecided())
        self._identity = IdentityRecord(
            method=action.method, verified_by=action.handler, verified_at=workflow.now()
        )
        return await self._after(CaseState.AWAITING_IDENTITY)

    @verify_identity.validator
    def _validate_verify_identity(self, action: VerifyIdentityInput) -> None:
        self._require_open(
            CaseState.AWAITING_IDENTITY, "verify identity", self._identity_undecided()
        )

    @workflow.update
    async def close_unverified(self, action: CloseUnverifiedInput) -> ActionResult:
        self._claim_once(action.handler, self._identity_undecided())
        self._unverified = action
        return await self._after(CaseState.AWAITING_IDENTITY)

    @close_unverified.validator
    def _validate_close_unverified(self, action: CloseUnverifiedInput) -> None:
        self._require_open(
            CaseState.AWAITING_IDENTITY, "close a case as unverified", self._identity_undecided()
        )

    @workflow.update
    async def record_manual_delivery(self, action: RecordManualDeliveryInput) -> ActionResult:
        self._claim_once(action.handler, self._manual is None)
        self._manual = action
        return await self._after(CaseState.AWAITING_MANUAL_DELIVERY)

    @record_manual_delivery.validator
    def _validate_record_manual_delivery(self, action: RecordManualDeliveryInput) -> None:
        self._require_open(
            CaseState.AWAITING_MANUAL_DELIVERY, "record a manual delivery", self._manual is None
        )

    def _identity_undecided(self) -> bool:
        return self._identity is None and self._unverified is None

    async def _establish_identity(self) -> bool:
        """True once identity is proven; False if a handler closed the case as unverified."""
        case = self._case
        if case.verified_by is IdentityMethod.BANKID and case.eid_order_ref:
            confirmation = await workflow.execute_activity_method(
                IdentityActivities.confirm_eid,
                ConfirmEidInput(
                    case_number=case.case_number,
                    subject_id=case.subject_id,
                    order_ref=case.eid_order_ref,
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
            if confirmation.verified and confirmation.verified_at is not None:
                self._identity = IdentityRecord(
                    method=IdentityMethod.BANKID,
                    verified_by="e-id",
                    verified_at=confirmation.verified_at,
                )
                return True
        await self._enter(CaseState.AWAITING_IDENTITY, actor=ENGINE, action="await_identity")
        await workflow.wait_condition(
            lambda: self._identity is not None or self._unverified is not None
        )
        return self._identity is not None

    async def _close_unverified(self) -> CaseResult:
        decision = self._unverified
        assert decision is not None
        await self._enter(
            CaseState.SENDING_NOTICE,
            actor=decision.handler,
            action="close_unverified",
            detail=decision.reason,
        )
        try:
            await workflow.execute_activity_method(
                DeliveryActivities.send_notice,
                SendNoticeInput(
                    case_number=self._case.case_number,
                    subject_id=self._case.subject_id,
                    notice="identity_not_verified",
                    reason=decision.reason,
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
        except ActivityError as error:
            if not is_no_mailbox(error):
                raise
            handed_over = await self._hand_over_manually("no_digital_mailbox")
            return await self._close(
                Outcome.CLOSED_UNVERIFIED,
                actor=handed_over.handler,
                action="record_manual_delivery",
                detail=handed_over.note,
            )
        return await self._close(Outcome.CLOSED_UNVERIFIED, actor=ENGINE, action="notice_sent")

    async def _hand_over_manually(
        self, reason: str, *, actor: str = ENGINE, action: str = "manual_handling"
    ) -> RecordManualDeliveryInput:
        """Wait for a handler to hand over what the engine may not or cannot send."""
        self._manual_handling_reason = reason
        await self._enter(
            CaseState.AWAITING_MANUAL_DELIVERY, actor=actor, action=action, detail=reason
        )
        await workflow.wait_condition(lambda: self._manual is not None)
        assert self._manual is not None
        return self._manual

    # --- lifecycle -------------------------------------------------------------------------

    async def _enter(
        self,
        state: CaseState,
        *,
        actor: str,
        action: str,
        detail: str | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        previous = self._state
        self._state = state
        self._step += 1
        self._steps.append(StepRecord(state=state, action=action, actor=actor, at=workflow.now()))
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
                detail=detail,
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    async def _close(
        self, outcome: Outcome, *, actor: str, action: str, detail: str | None = None
    ) -> CaseResult:
        self._outcome = outcome
        await self._enter(
            CaseState.CLOSED, actor=actor, action=action, detail=detail, outcome=outcome
        )
        # Handlers still returning their result must finish before the workflow completes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return CaseResult(
            case_number=self._case.case_number, outcome=outcome, delivery=self._delivery
        )

    # --- helpers for update handlers ---------------------------------------------------------

    def _require_open(self, state: CaseState, what: str, undecided: bool) -> None:
        """Validator check: the right state, and nobody has decided this step yet."""
        if self._state is not state:
            raise WrongState(
                f"case {self._case.case_number} is {self._state.value}; "
                f"you can {what} only while it is {state.value}"
            )
        if not undecided:
            raise WrongState(self._already_decided())

    def _claim_once(self, handler: str, undecided: bool) -> None:
        """Updates delivered in one workflow task all pass their validators before any handler
        runs; handlers run one at a time, so only the first decision counts."""
        if not undecided:
            raise WrongState(self._already_decided())
        if self._assignee is None:
            self._assignee = handler

    def _already_decided(self) -> str:
        return f"case {self._case.case_number}: another handler has already decided this step"

    async def _after(self, state: CaseState) -> ActionResult:
        """Return once the workflow has acted on the decision, so the caller sees the new state."""
        await workflow.wait_condition(lambda: self._state is not state)
        return ActionResult(case_number=self._case.case_number, state=self._state)


def is_no_mailbox(error: ActivityError) -> bool:
    """The subject has no digital mailbox: a business fact, not a fault to retry."""
    return isinstance(error.cause, ApplicationError) and error.cause.type == "NoMailbox"
