"""Identity (GDPR kinds): proof where the answer could reach someone else (Art. 12(2),(6)),
confirmed by e-ID, by a handler, or not needed; closing unverified or refused.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contract.actions import ActionResult, CloseUnverifiedInput, VerifyIdentityInput
from contract.case import (
    CaseInput,
    CaseResult,
    CaseState,
    DeliveryRoute,
    DeliveryRouteInput,
    IdentityBasis,
    IdentityRecord,
    Outcome,
)
from contract.handling import CLOSE_UNVERIFIED, VERIFY_IDENTITY
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.steps import ConfirmEidInput
from contract.vocabulary import IdentityMethod
from workflows.case.patches import PROPORTIONATE_IDENTITY_PATCH
from workflows.case.state import ENGINE, CaseCore

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.identity import IdentityActivities


class Identity(CaseCore):
    """The identity step of a GDPR case, and the data subject it concerns."""

    @property
    def _subject(self) -> str:
        """The data subject's identity number: every GDPR kind has one."""
        subject = self._case.subject_id
        if subject is None:
            raise ApplicationError(
                f"case {self._case.case_number} has no data subject", non_retryable=True
            )
        return subject

    @workflow.update(name=VERIFY_IDENTITY.update)
    async def verify_identity(self, action: VerifyIdentityInput) -> ActionResult:
        await self._take_decision_for(VERIFY_IDENTITY, action.handler)
        self._supplied_on = action.supplied_on
        self._identity = IdentityRecord(
            method=action.method, verified_by=action.handler, verified_at=workflow.now()
        )
        return await self._after(CaseState.AWAITING_IDENTITY)

    @verify_identity.validator
    def _validate_verify_identity(self, action: VerifyIdentityInput) -> None:
        self._require_open(CaseState.AWAITING_IDENTITY, VERIFY_IDENTITY.what)
        self._check_answer_day(action.supplied_on, "the proof was supplied")
        self._check_role(action.handler, VERIFY_IDENTITY.role_action)

    @workflow.update(name=CLOSE_UNVERIFIED.update)
    async def close_unverified(self, action: CloseUnverifiedInput) -> ActionResult:
        await self._take_decision_for(CLOSE_UNVERIFIED, action.handler)
        self._unverified = action
        return await self._after(CaseState.AWAITING_IDENTITY)

    @close_unverified.validator
    def _validate_close_unverified(self, action: CloseUnverifiedInput) -> None:
        self._check_decision(CLOSE_UNVERIFIED, CaseState.AWAITING_IDENTITY, action.handler)

    async def _establish_identity(self) -> bool:
        """True once identity is proven; False if the case was closed unverified or refused."""
        case = self._case
        await self._start_clock()
        if case.verified_by is IdentityMethod.BANKID and case.eid_order_ref:
            confirmation = await workflow.execute_activity_method(
                IdentityActivities.confirm_eid,
                ConfirmEidInput(
                    case_number=case.case_number,
                    subject_id=self._subject,
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
        if workflow.patched(PROPORTIONATE_IDENTITY_PATCH):
            # Art. 12(2),(6), EDPB 01/2022 §§ 69-77: proof only where the answer or action
            # could reach or harm someone else.
            basis = await self._proof_not_needed()
            if basis is not None:
                self._identity_basis = basis
                return True
        if self._clock_plan is not None:
            # The subject is asked for proof in their digital mailbox; the clock may stand
            # still meanwhile. Without a mailbox the handler asks, and the clock runs on.
            await self._ask_subject("identity", "identity_requested")
        await self._enter(CaseState.AWAITING_IDENTITY, actor=ENGINE, action="await_identity")
        await self._wait_for_handler(
            lambda: self._identity is not None or self._unverified is not None
        )
        await self._resume("identity", on=self._supplied_on)
        return self._identity is not None

    async def _proof_not_needed(self) -> IdentityBasis | None:
        """Why this request needs no identity proof, or None if it does: erasure,
        rectification and restriction change the subject's data and always do (a hook for the
        kinds whose answer alone goes out)."""
        return None

    async def _delivery_route(self) -> DeliveryRoute:
        """Where an answer can reach the subject alone (digital mailbox, population-register
        address), read once and kept in history."""
        if self._route is None:
            self._route = await workflow.execute_activity_method(
                DeliveryActivities.delivery_route,
                DeliveryRouteInput(case_number=self._case.case_number, subject_id=self._subject),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
        return self._route

    async def _verified(self) -> tuple[str, str] | None:
        """The identity step: (who verified, the trail action) once proven or not needed, None
        if the case ended there (then `_identity_step_ended` closes it)."""
        if not await self._establish_identity():
            return None
        if self._identity is None:
            assert self._identity_basis is not None
            return ENGINE, f"identity_not_needed:{self._identity_basis.value}"
        return self._identity.verified_by, f"identity:{self._identity.method}"

    async def _handle(self, case: CaseInput) -> CaseResult:
        """A GDPR case's course: the identity step, then the kind's own steps; or the case
        ends at the identity step (closed unverified, or refused)."""
        verified = await self._verified()
        if verified is None:
            return await self._identity_step_ended()
        actor, action = verified
        return await self._after_identity(case, actor, action)

    async def _after_identity(self, case: CaseInput, actor: str, action: str) -> CaseResult:
        """The kind's steps once identity is proven or not needed, from the trail's last actor
        and action (each kind that starts with the identity step defines them)."""
        raise NotImplementedError(f"{type(self).__name__} has no steps after the identity step")

    async def _identity_step_ended(self) -> CaseResult:
        """The case ends at the identity step: closed as unverified, or refused."""
        if self._refusal is not None:
            return await self._close_refused()
        decision = self._unverified
        assert decision is not None
        return await self._notify_and_close(
            "identity_not_verified",
            Outcome.CLOSED_UNVERIFIED,
            actor=decision.handler,
            action="close_unverified",
            reason=decision.reason,
        )

    async def _wait_for_handler(self, decided: Callable[[], bool]) -> bool:
        """Wait for a handler's decision; False if the request was refused instead."""
        await workflow.wait_condition(lambda: decided() or self._refusal is not None)
        return self._refusal is None

    async def _close_refused(self) -> CaseResult:
        refusal = self._refusal
        assert refusal is not None
        self._decision = "refused"
        # The DPO is told of every refusal (DOMAIN: advises, is not the one who decides).
        await self._tell_staff("dpo", "refused")
        return await self._notify_and_close(
            "refused",
            Outcome.REFUSED,
            actor=refusal.handler,
            action="refuse",
            reason=refusal.reason,
        )
