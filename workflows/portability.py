"""Data portability (GDPR Art. 20): the subject's provided and observed data as JSON and CSV."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from temporalio import workflow

from contract.case import (
    CaseInput,
    CaseResult,
    DeliveryMethod,
    DeliveryRoute,
    ExtractResult,
    IdentityBasis,
)
from contract.steps import BuildExtractInput
from workflows.access import AccessRequestWorkflow

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

    def _product(
        self,
    ) -> Callable[[ExtractActivities, BuildExtractInput], Coroutine[Any, Any, ExtractResult]]:
        return ExtractActivities.build_portable

    def _delivery_method(
        self, protected: bool, extract: ExtractResult, route: DeliveryRoute | None
    ) -> DeliveryMethod:
        return DeliveryMethod.MANUAL if protected else DeliveryMethod.DIGITAL_MAILBOX

    def _searches_places(self) -> bool:
        # The archive and the case register hold nothing processed under consent or contract
        # (Art. 20(1)): documents kept by law, and the requests themselves.
        return False

    async def _proof_not_needed(self) -> IdentityBasis | None:
        """Portability goes by digital mailbox only: that reaches the subject alone."""
        if self._case.details.deliver_elsewhere:
            return None
        route = await self._delivery_route()
        if route.digital_mailbox and not route.protected_identity:
            return IdentityBasis.DIGITAL_MAILBOX
        return None
