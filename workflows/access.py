"""The right of access (GDPR Art. 15): a free copy of the data, once identity is proven."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from contract.actions import ActionResult, ApproveReleaseInput, RequestChangesInput
from contract.case import (
    CaseInput,
    CaseResult,
    CaseState,
    CollectionResult,
    DeliveryMethod,
    DeliveryReceipt,
    DeliveryRoute,
    ExtractResult,
    IdentityBasis,
    Outcome,
)
from contract.handling import APPROVE_RELEASE, REQUEST_CHANGES
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.steps import BuildExtractInput, CollectInput, DeliverInput, PlanCollectionInput
from contract.vocabulary import Channel, IdentityMethod
from workflows.case.notices import is_no_address, is_no_mailbox
from workflows.case.patches import PROPORTIONATE_IDENTITY_PATCH
from workflows.case.state import ENGINE
from workflows.case.workflow import CaseWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.extract import ExtractActivities
    from activities.sources import SourceActivities

# A system that is down is retried for as long as it takes, and the case continues by itself
# when it is back; the pending activity and its last failure show in the Web UI meanwhile,
# `status` shows the systems waited for, and the assignee is told after a while
# (CaseWorkflow._in_every_system).
COLLECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2)
)


@workflow.defn
class AccessRequestWorkflow(CaseWorkflow):
    """A copy of the subject's personal data with everything Art. 15 requires.

    registered -> [awaiting_identity] -> collecting -> building_extract -> awaiting_review
    -> delivering | awaiting_manual_delivery -> closed.

    Updates, beyond those of every case (see CaseWorkflow):
    - `approve_release` (awaiting_review): the handler releases the extract; it is delivered by
      secure digital mailbox, or by letter to the registered address when asked by letter (or
      when the subject has no mailbox). Protected identity, or neither channel available:
      awaiting_manual_delivery, closed by `record_manual_delivery`.
    - `request_changes` (awaiting_review): collect and build again (e.g. after a source system
      was corrected), then review again.
    Outcomes: delivered, delivered_manually, closed_unverified.
    """

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)
        self._review: ApproveReleaseInput | RequestChangesInput | None = None

    def _has_stored_files(self) -> bool:
        return self._extract is not None

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await self._withdrawable(self._handle(case))

    async def _after_identity(self, case: CaseInput, actor: str, action: str) -> CaseResult:
        detail: str | None = None
        version = 0
        while True:
            version += 1
            await self._enter(CaseState.COLLECTING, actor=actor, action=action, detail=detail)
            collections = await self._collect(version)
            await self._enter(CaseState.BUILDING_EXTRACT, actor=ENGINE, action="collected")
            self._extract = await self._build(version, collections)
            if self._released_by_policy(collections, self._extract):
                return await self._deliver(
                    ENGINE, collections, self._extract, action="released_by_policy"
                )
            await self._enter(CaseState.AWAITING_REVIEW, actor=ENGINE, action="extract_built")
            if not await self._wait_for_handler(lambda: self._review is not None):
                return await self._close_refused()
            review, self._review = self._review, None
            if isinstance(review, ApproveReleaseInput):
                break
            assert review is not None
            actor, action, detail = review.handler, "request_changes", review.reason
        return await self._deliver(review.handler, collections, self._extract)

    # --- updates ---------------------------------------------------------------------------

    @workflow.update(name=APPROVE_RELEASE.update)
    async def approve_release(self, action: ApproveReleaseInput) -> ActionResult:
        await self._take_decision_for(APPROVE_RELEASE, action.handler)
        self._review = action
        return await self._after(CaseState.AWAITING_REVIEW)

    @approve_release.validator
    def _validate_approve_release(self, action: ApproveReleaseInput) -> None:
        self._check_decision(APPROVE_RELEASE, CaseState.AWAITING_REVIEW, action.handler)

    @workflow.update(name=REQUEST_CHANGES.update)
    async def request_changes(self, action: RequestChangesInput) -> ActionResult:
        await self._take_decision_for(REQUEST_CHANGES, action.handler)
        self._review = action
        return await self._after(CaseState.AWAITING_REVIEW)

    @request_changes.validator
    def _validate_request_changes(self, action: RequestChangesInput) -> None:
        self._check_decision(REQUEST_CHANGES, CaseState.AWAITING_REVIEW, action.handler)

    # --- steps -----------------------------------------------------------------------------

    async def _collect(self, version: int) -> list[CollectionResult]:
        plan = await workflow.execute_activity_method(
            SourceActivities.plan_collection,
            PlanCollectionInput(case_number=self._case.case_number),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        if self._searches_places() and plan.places:
            # The whole organisation is searched (Art. 15, EDPB 01/2022): the document archive
            # and the case register too. Plans recorded before name no places.
            plan = plan.model_copy(update={"systems": [*plan.systems, *plan.places]})
        return await self._in_every_system(
            plan,
            "collect",
            lambda system: workflow.execute_activity_method(
                SourceActivities.collect,
                CollectInput(
                    case_number=self._case.case_number,
                    system=system,
                    subject_id=self._subject,
                    version=version,
                ),
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=COLLECT_RETRY,
            ),
        )

    async def _build(self, version: int, collections: list[CollectionResult]) -> ExtractResult:
        return await workflow.execute_activity_method(
            self._product(),
            BuildExtractInput(
                case_number=self._case.case_number,
                version=version,
                received_at=self._case.received_at,
                channel=self._case.channel,
                collections=collections,
            ),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=PERSISTENT,
        )

    def _product(
        self,
    ) -> Callable[[ExtractActivities, BuildExtractInput], Coroutine[Any, Any, ExtractResult]]:
        """What is built from the collected data: the Art. 15 answer (a hook for subclasses)."""
        return ExtractActivities.build_extract

    def _searches_places(self) -> bool:
        """Whether the answer searches the archive and the case register as well as the
        systems: the access answer does; portability's data is the systems' alone."""
        return True

    def _released_by_policy(
        self, collections: list[CollectionResult], extract: ExtractResult
    ) -> bool:
        """Whether the policy in force when the extract was built releases it without review:
        only for a subject verified by e-ID, with no protected identity, and not after a
        handler asked for changes (then the handler reviews the new build too)."""
        return (
            extract.release_policy == "automatic"
            and extract.version == 1
            and self._identity is not None
            and self._identity.method is IdentityMethod.BANKID
            and not any(c.protected_identity for c in collections)
        )

    async def _proof_not_needed(self) -> IdentityBasis | None:
        """An answer that goes to the subject's own digital mailbox (bound to the identity
        number) or by letter to the population-register address reaches the subject alone:
        no proof (Art. 12(2),(6); EDPB 01/2022 §§ 69-77). Asked to deliver elsewhere, to a
        protected person, or with neither way open: proof first."""
        if self._case.details.deliver_elsewhere:
            return None
        route = await self._delivery_route()
        if route.protected_identity:
            return None
        if self._case.channel is Channel.LETTER and route.registered_address:
            return IdentityBasis.REGISTERED_ADDRESS
        if route.digital_mailbox:
            return IdentityBasis.DIGITAL_MAILBOX
        if route.registered_address:
            return IdentityBasis.REGISTERED_ADDRESS
        return None

    async def _route_for_delivery(self) -> DeliveryRoute | None:
        """The delivery route (SPAR, mailbox), read once; None for cases from before it."""
        if self._route is not None or workflow.patched(PROPORTIONATE_IDENTITY_PATCH):
            return await self._delivery_route()
        return None

    async def _deliver(
        self,
        approver: str,
        collections: list[CollectionResult],
        extract: ExtractResult,
        *,
        action: str = "approve_release",
    ) -> CaseResult:
        route = await self._route_for_delivery()
        # Protected personal data, on the customer record or in the population register.
        protected = any(c.protected_identity for c in collections) or (
            route is not None and route.protected_identity
        )
        if self._case.details.deliver_elsewhere:
            # Somewhere only a person can check: identity was proven, a handler sends it.
            return await self._deliver_manually("delivery_elsewhere", actor=approver, action=action)
        method = self._delivery_method(protected, extract, route)
        if method is DeliveryMethod.MANUAL:
            # Protected identity: no address may be used or shown; a person hands it over.
            return await self._deliver_manually("protected_identity", actor=approver, action=action)
        await self._enter(CaseState.DELIVERING, actor=approver, action=action)
        try:
            self._delivery = await self._send(method, approver, extract)
        except ActivityError as error:
            if is_no_address(error):
                return await self._deliver_manually("no_registered_address")
            if not is_no_mailbox(error):
                raise
            has_address = route.registered_address if route else extract.has_postal_address
            if protected or not has_address or method is DeliveryMethod.LETTER:
                return await self._deliver_manually("no_digital_mailbox")
            method = DeliveryMethod.LETTER
            try:
                self._delivery = await self._send(method, approver, extract)
            except ActivityError as error:
                if not is_no_address(error):
                    raise
                return await self._deliver_manually("no_registered_address")
        return await self._close(
            Outcome.DELIVERED, actor=ENGINE, action=f"delivered:{method.value}"
        )

    async def _send(
        self, method: DeliveryMethod, approver: str, extract: ExtractResult
    ) -> DeliveryReceipt:
        return await workflow.execute_activity_method(
            DeliveryActivities.deliver_extract,
            DeliverInput(
                case_number=self._case.case_number,
                subject_id=self._subject,
                method=method,
                extract=extract,
                actor=approver,
            ),
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=PERSISTENT,
        )

    async def _deliver_manually(
        self, reason: str, *, actor: str = ENGINE, action: str = "manual_handling"
    ) -> CaseResult:
        handed_over = await self._hand_over_manually(reason, actor=actor, action=action)
        self._delivery = DeliveryReceipt(
            method=DeliveryMethod.MANUAL,
            location="handed over by a handler",
            delivered_at=workflow.now(),
            delivered_by=handed_over.handler,
        )
        return await self._close(
            Outcome.DELIVERED_MANUALLY,
            actor=handed_over.handler,
            action="record_manual_delivery",
            detail=handed_over.note,
        )

    def _delivery_method(
        self, protected: bool, extract: ExtractResult, route: DeliveryRoute | None
    ) -> DeliveryMethod:
        if protected:
            return DeliveryMethod.MANUAL
        # A letter goes to the population-register address (cases from before the register
        # looked at the customer record).
        has_address = route.registered_address if route else extract.has_postal_address
        if self._case.channel is Channel.LETTER and has_address:
            return DeliveryMethod.LETTER
        if route is not None and not route.digital_mailbox and has_address:
            return DeliveryMethod.LETTER
        # Requests by e-mail are answered here too: an extract never goes by plain e-mail.
        return DeliveryMethod.DIGITAL_MAILBOX
