"""Objection to direct marketing (GDPR Art. 21(2)-(3)): absolute, applied within seconds."""

from __future__ import annotations

from temporalio import workflow

from contract.case import CaseInput, CaseResult, CaseState, Outcome
from workflows.case.state import ENGINE
from workflows.case.workflow import CaseWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.writes import WriteActivities


@workflow.defn
class ObjectionWorkflow(CaseWorkflow):
    """Suppresses direct marketing in every system that declares it, tells each service
    provider that received marketing data, and confirms to the subject what it covers.

    registered -> applying -> notifying_recipients -> sending_notice -> closed (completed).
    No handler step and no identity check: the objection is absolute and only stops
    processing, so acting on it can harm no one. `refuse` is rejected for this kind.
    """

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        self._patches_at_start()
        await self._enter(CaseState.APPLYING, actor=ENGINE, action="suppress_marketing")
        results = await self._write_everywhere(WriteActivities.apply_suppression, "suppression")
        providers = sorted({name for result in results for name in result.recipients})
        await self._enter(
            CaseState.NOTIFYING_RECIPIENTS, actor=ENGINE, action="marketing_suppressed"
        )
        await self._notify_recipients(
            providers,
            "objection",
            categories=[c for result in results for c in result.categories],
        )
        effective = workflow.now().date().isoformat()
        return await self._notify_and_close(
            "objection_confirmed",
            Outcome.COMPLETED,
            actor=ENGINE,
            action="recipients_notified",
            facts={"effective": effective, "providers": self._told_recipients_sv()},
        )

    def _withdrawal_blocked(self) -> str | None:
        return (
            "an objection to direct marketing is carried out at once; for marketing again, the "
            "subject gives a new consent"
        )

    def _refusal_blocked(self) -> str | None:
        return "an objection to direct marketing is absolute and cannot be refused (Art. 21(3))"
