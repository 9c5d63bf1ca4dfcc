"""Rectification and completion (GDPR Art. 16), with Art. 19 notices to every recipient."""

from __future__ import annotations

from temporalio import workflow

from contract.actions import ActionResult, DecideRectificationInput
from contract.base import FIELDS_SV
from contract.case import CaseInput, CaseResult, CaseState, Outcome
from contract.handling import DECIDE_RECTIFICATION
from contract.vocabulary import RectificationDecision, RestrictionGround
from workflows.case.state import ENGINE, WrongState
from workflows.restriction import RestrictionSteps

with workflow.unsafe.imports_passed_through():
    from activities.writes import WriteActivities


@workflow.defn
class RectificationWorkflow(RestrictionSteps):
    """Corrects the requested fields in every system that holds them, after a handler decides.

    registered -> [awaiting_identity] -> [applying: restriction while accuracy is checked]
    -> awaiting_decision -> applying -> notifying_recipients -> [sending_notice + lifting the
    restriction, the subject told first] -> sending_notice (the answer) -> closed.
    Updates, beyond those of every case: `decide_rectification` (awaiting_decision): accept,
    partly (naming the accepted fields) or reject; partly and reject need a reason.
    Outcomes: completed, partly_completed, rejected, refused, closed_unverified.
    """

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)
        self._ruling: DecideRectificationInput | None = None

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await self._withdrawable(self._handle(case))

    async def _after_identity(self, case: CaseInput, actor: str, action: str) -> CaseResult:
        restricted = case.details.restrict_while_checking
        if restricted:
            await self._restrict(RestrictionGround.ACCURACY_CONTESTED, actor=actor, action=action)
            actor, action = ENGINE, "restricted_while_checking"
        await self._enter(CaseState.AWAITING_DECISION, actor=actor, action=action)
        if not await self._wait_for_handler(lambda: self._ruling is not None):
            if restricted:
                assert self._refusal is not None
                await self._lift(actor=self._refusal.handler, reason=self._refusal.reason)
            return await self._close_refused()
        ruling = self._ruling
        assert ruling is not None
        self._decision = ruling.decision.value
        accepted = self._accepted_changes(ruling)
        if accepted:
            await self._enter(
                CaseState.APPLYING, actor=ruling.handler, action=f"decide:{ruling.decision}"
            )
            results = await self._write_everywhere(
                WriteActivities.apply_rectification, "rectification", changes=accepted
            )
            await self._enter(CaseState.NOTIFYING_RECIPIENTS, actor=ENGINE, action="rectified")
            # Each recipient hears of the fields it received; results recorded before that was
            # reported (no recipient_fields) name every accepted field, as those cases did.
            told: dict[str, set[str]] = {}
            for result in results:
                for name in result.recipients:
                    told.setdefault(name, set()).update(result.recipient_fields.get(name, accepted))
            protected = any(result.protected_identity for result in results)
            withheld = {name for result in results for name in result.values_withheld}
            await self._notify_recipients(
                {name: sorted(fields) for name, fields in told.items()},
                "rectification",
                accepted,
                withhold=set(told) if protected else withheld,
                categories=[c for result in results for c in result.categories],
            )
            actor, action = ENGINE, "recipients_notified"
        else:
            actor, action = ruling.handler, f"decide:{ruling.decision}"
        if restricted:
            await self._lift(actor=actor, reason="Riktigheten i uppgifterna är nu kontrollerad.")
            actor, action = ENGINE, "restriction_lifted"
        return await self._answer(ruling, accepted, actor=actor, action=action)

    @workflow.update(name=DECIDE_RECTIFICATION.update)
    async def decide_rectification(self, action: DecideRectificationInput) -> ActionResult:
        await self._take_decision(_role_action(action), action.handler)
        self._ruling = action
        return await self._after(CaseState.AWAITING_DECISION)

    @decide_rectification.validator
    def _validate_decide_rectification(self, action: DecideRectificationInput) -> None:
        self._require_open(CaseState.AWAITING_DECISION, DECIDE_RECTIFICATION.what)
        requested = {change.field for change in self._case.details.changes}
        if action.decision is RectificationDecision.PARTLY:
            if not action.accepted_fields or not set(action.accepted_fields) < requested:
                raise WrongState(
                    "a partial decision names some, not all, of the requested fields: "
                    + ", ".join(sorted(requested))
                )
        elif action.accepted_fields:
            raise WrongState("accepted fields are named only for a partial decision")
        needs_reason = action.decision is not RectificationDecision.ACCEPT
        if needs_reason and not (action.reason and action.reason.strip()):
            raise WrongState("a partial or negative decision needs a reason for the subject")
        self._check_role(action.handler, _role_action(action))

    def _accepted_changes(self, ruling: DecideRectificationInput) -> dict[str, str]:
        changes = {change.field.value: change.new_value for change in self._case.details.changes}
        if ruling.decision is RectificationDecision.ACCEPT:
            return changes
        if ruling.decision is RectificationDecision.PARTLY:
            return {f.value: changes[f.value] for f in ruling.accepted_fields}
        return {}

    async def _answer(
        self,
        ruling: DecideRectificationInput,
        accepted: dict[str, str],
        *,
        actor: str,
        action: str,
    ) -> CaseResult:
        requested = [change.field.value for change in self._case.details.changes]
        rejected = [field for field in requested if field not in accepted]
        outcome = (
            Outcome.COMPLETED
            if not rejected
            else Outcome.REJECTED
            if not accepted
            else Outcome.PARTLY_COMPLETED
        )
        reason = (ruling.reason or "").strip()
        return await self._notify_and_close(
            "rectification_answer",
            outcome,
            actor=actor,
            action=action,
            facts={
                "changed": ", ".join(FIELDS_SV[f] for f in accepted) or "inga",
                "rejected": ", ".join(FIELDS_SV[f] for f in rejected) or "inga",
                "reason_text": f"Skäl: {reason} " if reason else "",
                "recipients": self._told_recipients_sv(),
            },
        )


def _role_action(ruling: DecideRectificationInput) -> str:
    """Accepting is a handler's; refusing, wholly or in part, a decision maker's."""
    if ruling.decision is RectificationDecision.ACCEPT:
        return "accept_rectification"
    return "refuse_rectification"
