"""The right of access (GDPR Art. 15): a free copy of the data, once identity is proven."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from dsr.models import (
    ActionResult,
    ApproveReleaseInput,
    BuildExtractInput,
    CaseInput,
    CaseResult,
    CaseState,
    CollectInput,
    CollectionResult,
    DeliverInput,
    DeliveryMethod,
    DeliveryReceipt,
    ExtractResult,
    Outcome,
    PlanCollectionInput,
    RecordManualDeliveryInput,
    RequestChangesInput,
)
from workflows.case import ENGINE, PERSISTENT, SHORT_TIMEOUT, CaseWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.extract import ExtractActivities
    from activities.sources import SourceActivities

# A system that is down is retried for as long as it takes; the deadline ladder (not a retry
# limit) is what tells people the case is stuck.
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
      secure digital mailbox, or by letter to the registered address when asked by letter; a
      subject with protected identity goes to manual delivery instead.
    - `request_changes` (awaiting_review): collect and build again (e.g. after a source system
      was corrected), then review again.
    - `record_manual_delivery` (awaiting_manual_delivery): the handler records how it was handed
      over (pickup, secure channel).
    Outcomes: delivered, delivered_manually, closed_unverified.
    """

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)
        self._review: ApproveReleaseInput | RequestChangesInput | None = None
        self._manual: RecordManualDeliveryInput | None = None

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        if not await self._establish_identity():
            return await self._close_unverified()
        assert self._identity is not None
        actor, action, detail = (
            self._identity.verified_by,
            f"identity:{self._identity.method}",
            None,
        )
        version = 0
        while True:
            version += 1
            await self._enter(CaseState.COLLECTING, actor=actor, action=action, detail=detail)
            collections = await self._collect(version)
            await self._enter(CaseState.BUILDING_EXTRACT, actor=ENGINE, action="collected")
            self._extract = await self._build(version, collections)
            await self._enter(CaseState.AWAITING_REVIEW, actor=ENGINE, action="extract_built")
            await workflow.wait_condition(lambda: self._review is not None)
            review, self._review = self._review, None
            if isinstance(review, ApproveReleaseInput):
                break
            assert review is not None
            actor, action, detail = review.handler, "request_changes", review.reason
        return await self._deliver(review.handler, collections, self._extract)

    # --- updates ---------------------------------------------------------------------------

    @workflow.update
    async def approve_release(self, action: ApproveReleaseInput) -> ActionResult:
        self._claim_once(action.handler, self._review is None)
        self._review = action
        return await self._after(CaseState.AWAITING_REVIEW)

    @approve_release.validator
    def _validate_approve_release(self, action: ApproveReleaseInput) -> None:
        self._require_state(CaseState.AWAITING_REVIEW, "approve the release")

    @workflow.update
    async def request_changes(self, action: RequestChangesInput) -> ActionResult:
        self._claim_once(action.handler, self._review is None)
        self._review = action
        return await self._after(CaseState.AWAITING_REVIEW)

    @request_changes.validator
    def _validate_request_changes(self, action: RequestChangesInput) -> None:
        self._require_state(CaseState.AWAITING_REVIEW, "request changes")

    @workflow.update
    async def record_manual_delivery(self, action: RecordManualDeliveryInput) -> ActionResult:
        self._claim_once(action.handler, self._manual is None)
        self._manual = action
        return await self._after(CaseState.AWAITING_MANUAL_DELIVERY)

    @record_manual_delivery.validator
    def _validate_record_manual_delivery(self, action: RecordManualDeliveryInput) -> None:
        self._require_state(CaseState.AWAITING_MANUAL_DELIVERY, "record a manual delivery")

    # --- steps -----------------------------------------------------------------------------

    async def _collect(self, version: int) -> list[CollectionResult]:
        plan = await workflow.execute_activity_method(
            SourceActivities.plan_collection,
            PlanCollectionInput(case_number=self._case.case_number),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_activity_method(
                        SourceActivities.collect,
                        CollectInput(
                            case_number=self._case.case_number,
                            system=system,
                            subject_id=self._case.subject_id,
                            version=version,
                        ),
                        start_to_close_timeout=timedelta(minutes=30),
                        heartbeat_timeout=timedelta(seconds=30),
                        retry_policy=COLLECT_RETRY,
                    )
                    for system in plan.systems
                )
            )
        )

    async def _build(self, version: int, collections: list[CollectionResult]) -> ExtractResult:
        return await workflow.execute_activity_method(
            ExtractActivities.build_extract,
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

    async def _deliver(
        self, approver: str, collections: list[CollectionResult], extract: ExtractResult
    ) -> CaseResult:
        method = self._delivery_method(collections, extract)
        if method is DeliveryMethod.MANUAL:
            # Protected identity: no address may be used or shown; a person hands it over.
            self._manual_handling_reason = "protected_identity"
            await self._enter(
                CaseState.AWAITING_MANUAL_DELIVERY,
                actor=approver,
                action="approve_release",
                detail="protected identity: manual handling",
            )
            await workflow.wait_condition(lambda: self._manual is not None)
            assert self._manual is not None
            self._delivery = DeliveryReceipt(
                method=DeliveryMethod.MANUAL,
                location="handed over by a handler",
                delivered_at=workflow.now(),
                delivered_by=self._manual.handler,
            )
            return await self._close(
                Outcome.DELIVERED_MANUALLY,
                actor=self._manual.handler,
                action="record_manual_delivery",
                detail=self._manual.note,
            )
        await self._enter(CaseState.DELIVERING, actor=approver, action="approve_release")
        self._delivery = await workflow.execute_activity_method(
            DeliveryActivities.deliver_extract,
            DeliverInput(
                case_number=self._case.case_number,
                subject_id=self._case.subject_id,
                method=method,
                extract=extract,
                actor=approver,
            ),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=PERSISTENT,
        )
        return await self._close(
            Outcome.DELIVERED, actor=ENGINE, action=f"delivered:{method.value}"
        )

    def _delivery_method(
        self, collections: list[CollectionResult], extract: ExtractResult
    ) -> DeliveryMethod:
        if any(c.protected_identity for c in collections):
            return DeliveryMethod.MANUAL
        if self._case.channel.value == "letter" and extract.has_postal_address:
            return DeliveryMethod.LETTER
        # Requests by e-mail are answered here too: an extract never goes by plain e-mail.
        return DeliveryMethod.DIGITAL_MAILBOX
