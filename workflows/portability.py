"""Data portability (GDPR Art. 20): the subject's provided and observed data as JSON and CSV."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from dsr.models import (
    BuildExtractInput,
    CaseInput,
    CaseResult,
    CollectionResult,
    DeliveryMethod,
    ExtractResult,
)
from workflows.access import AccessRequestWorkflow
from workflows.case import PERSISTENT

with workflow.unsafe.imports_passed_through():
    from activities.extract import ExtractActivities


@workflow.defn
class PortabilityWorkflow(AccessRequestWorkflow):
    """The access lifecycle (identity, collection, review, delivery) with another product:
    the tables declared `portable` (what the subject provided, meter readings and other data
    observed under the contract) as JSON and as CSV per table. Delivered digitally only; with
    no digital mailbox, a handler hands it over (e.g. on a USB stick at pickup).
    Updates and outcomes as AccessRequestWorkflow.
    """

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await super().run(case)

    async def _build(self, version: int, collections: list[CollectionResult]) -> ExtractResult:
        return await workflow.execute_activity_method(
            ExtractActivities.build_portable,
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

    def _delivery_method(self, protected: bool, extract: ExtractResult) -> DeliveryMethod:
        return DeliveryMethod.MANUAL if protected else DeliveryMethod.DIGITAL_MAILBOX
