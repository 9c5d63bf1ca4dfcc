"""Identity verification through the e-ID provider (Art. 12(6))."""

from __future__ import annotations

from temporalio import activity

from contract.steps import ConfirmEidInput, EidConfirmation
from infra.adapters import EidProvider


class IdentityActivities:
    def __init__(self, provider: EidProvider) -> None:
        self._provider = provider

    @activity.defn
    async def confirm_eid(self, request: ConfirmEidInput) -> EidConfirmation:
        """Whether the e-ID order was signed by the subject the request is about."""
        completion = await self._provider.collect(request.order_ref)
        if completion is None or completion.personal_number != request.subject_id:
            activity.logger.info("e-ID not confirmed", extra={"case_number": request.case_number})
            return EidConfirmation(verified=False, verified_at=None)
        return EidConfirmation(verified=True, verified_at=completion.completed_at)
