"""Restriction of processing (GDPR Art. 18): applied everywhere, kept until lifted, notice first."""

from __future__ import annotations

from temporalio import workflow

from contract.actions import ActionResult, LiftRestrictionInput, RecordRestrictionGroundInput
from contract.case import CaseInput, CaseResult, CaseState, Outcome
from contract.handling import LIFT_RESTRICTION, RECORD_RESTRICTION_GROUND
from contract.steps import SystemWriteResult
from contract.vocabulary import RestrictionGround
from workflows.case.patches import ART19_RESTRICTION_ERASURE_PATCH
from workflows.case.state import ENGINE, WrongState
from workflows.case.workflow import CaseWorkflow

# Patch id: a request without a ground asks the subject for one instead of assuming (a).
RESTRICTION_GROUND_PATCH = "restriction-ground"

with workflow.unsafe.imports_passed_through():
    from activities.writes import WriteActivities

GROUNDS_SV = {
    RestrictionGround.ACCURACY_CONTESTED: "du har bestritt att uppgifterna är korrekta",
    RestrictionGround.UNLAWFUL_NO_ERASURE: (
        "behandlingen är olaglig och du har begärt begränsning i stället för radering"
    ),
    RestrictionGround.NEEDED_FOR_LEGAL_CLAIMS: (
        "du behöver uppgifterna för att fastställa, göra gällande eller försvara rättsliga anspråk"
    ),
    RestrictionGround.OBJECTION_PENDING: "du har invänt och vi prövar om våra skäl väger tyngre",
}


class RestrictionSteps(CaseWorkflow):
    """Applying and lifting a restriction, shared with rectification (restrict while checking)."""

    PATCHES = (*CaseWorkflow.PATCHES, ART19_RESTRICTION_ERASURE_PATCH)

    async def _restrict(self, ground: RestrictionGround, *, actor: str, action: str) -> None:
        await self._enter(CaseState.APPLYING, actor=actor, action=action, detail=ground.value)
        await self._hold_restriction(True)
        results = await self._write_everywhere(
            WriteActivities.apply_restriction, "restriction", restricted=True
        )
        await self._tell_recipients(results, "restriction")
        await self._tell_subject(
            "restriction_applied",
            facts={
                "effective": workflow.now().date().isoformat(),
                "ground": GROUNDS_SV[ground],
                "recipients": self._told_recipients_sv(),
            },
        )

    async def _tell_recipients(self, results: list[SystemWriteResult], notice: str) -> None:
        """Art. 19 for restriction: one notice per recipient of the restricted data."""
        if workflow.patched(ART19_RESTRICTION_ERASURE_PATCH):
            await self._notify_recipients(
                [name for result in results for name in result.recipients],
                notice,
                categories=[c for result in results for c in result.categories],
            )

    def _withdrawal_consequences(self) -> str:
        if self._holding_restriction:
            return (
                "Begränsningen av behandlingen som gällde för din begäran hävs nu (artikel 18.3 "
                "dataskyddsförordningen), om inte ett annat ärende fortfarande kräver den."
            )
        return super()._withdrawal_consequences()

    async def _undo_for_withdrawal(self) -> None:
        """A restriction this case holds goes with the request; the flags come off with the
        last hold (another case may still need them)."""
        if self._holding_restriction:
            await self._release_hold()

    async def _lift(self, *, actor: str, reason: str) -> None:
        """Art. 18(3): the subject is told before the restriction is lifted, never after."""
        await self._enter(
            CaseState.SENDING_NOTICE, actor=actor, action="lift_restriction", detail=reason
        )
        await self._tell_subject("restriction_lifting", reason=reason)
        await self._enter(CaseState.LIFTING_RESTRICTION, actor=ENGINE, action="subject_told")
        await self._release_hold()

    async def _release_hold(self) -> None:
        """This case's hold goes; the flags come off in every system (and the recipients are
        told, Art. 19) only with the last hold."""
        if await self._hold_restriction(False) > 0:
            # Another case (a restriction, or the kept parts of an erasure) still needs the
            # flags: this case's hold is gone, the restriction stays.
            self._applied["lift"] = {"kept_by_other_cases": 1}
            return
        results = await self._write_everywhere(
            WriteActivities.apply_restriction, "lift", restricted=False
        )
        await self._tell_recipients(results, "restriction_lifted")


@workflow.defn
class RestrictionWorkflow(RestrictionSteps):
    """Restricts processing of the subject's data in every system on one of the grounds of
    Art. 18(1) a-d, and stays open (for months if need be) until a handler lifts it.

    registered -> [awaiting_identity] -> applying -> restricted -> sending_notice (the subject
    is told first) -> lifting_restriction -> closed (lifted).
    Updates, beyond those of every case: `lift_restriction` (restricted): handler and reason.
    """

    PATCHES = (*RestrictionSteps.PATCHES, RESTRICTION_GROUND_PATCH)

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)
        self._lift_request: LiftRestrictionInput | None = None
        self._awaiting_ground = False
        self._ground_answer: RecordRestrictionGroundInput | None = None

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await self._withdrawable(self._handle(case))

    async def _after_identity(self, case: CaseInput, actor: str, action: str) -> CaseResult:
        ground = case.details.restriction_ground
        if ground is None and workflow.patched(RESTRICTION_GROUND_PATCH):
            # Not assumed: the subject says which ground of Art. 18(1) applies.
            ground = await self._ask_for_ground(actor=actor, action=action)
            assert self._ground_answer is not None
            actor, action = self._ground_answer.handler, f"ground:{ground.value}"
        # Cases from before the patch took a request without a ground as (a).
        ground = ground or RestrictionGround.ACCURACY_CONTESTED
        await self._restrict(ground, actor=actor, action=action)
        await self._enter(CaseState.RESTRICTED, actor=ENGINE, action="restricted")
        await self._wait_for_handler(lambda: self._lift_request is not None)
        lift = self._lift_request
        assert lift is not None
        await self._lift(actor=lift.handler, reason=lift.reason)
        return await self._close(Outcome.LIFTED, actor=ENGINE, action="restriction_lifted")

    async def _ask_for_ground(self, *, actor: str, action: str) -> RestrictionGround:
        """Ask the subject on which ground of Art. 18(1) to restrict (digitally, the clock
        standing still if asked in time; without a mailbox the handler asks by letter or
        phone), and wait for a handler to record the answer."""
        self._awaiting_ground = True
        await self._ask_subject("clarification", "restriction_ground_requested", key="ground")
        await self._enter(
            CaseState.AWAITING_DECISION, actor=actor, action=action, detail="ground_requested"
        )
        await workflow.wait_condition(lambda: self._ground_answer is not None)
        answer = self._ground_answer
        assert answer is not None
        self._awaiting_ground = False
        await self._resume("clarification", on=answer.received_on)
        return answer.ground

    @workflow.update(name=RECORD_RESTRICTION_GROUND.update)
    async def record_restriction_ground(self, action: RecordRestrictionGroundInput) -> ActionResult:
        await self._take_decision_for(RECORD_RESTRICTION_GROUND, action.handler)
        self._ground_answer = action
        return await self._after(CaseState.AWAITING_DECISION)

    @record_restriction_ground.validator
    def _validate_record_restriction_ground(self, action: RecordRestrictionGroundInput) -> None:
        if not self._awaiting_ground:
            raise WrongState(
                f"case {self._case.case_number} waits for no ground: the request named one, or "
                "it has been recorded"
            )
        self._require_open(CaseState.AWAITING_DECISION, RECORD_RESTRICTION_GROUND.what)
        self._check_answer_day(action.received_on, "the answer arrived")
        self._check_role(action.handler, RECORD_RESTRICTION_GROUND.role_action)

    @workflow.update(name=LIFT_RESTRICTION.update)
    async def lift_restriction(self, action: LiftRestrictionInput) -> ActionResult:
        await self._take_decision_for(LIFT_RESTRICTION, action.handler)
        self._lift_request = action
        return await self._after(CaseState.RESTRICTED)

    @lift_restriction.validator
    def _validate_lift_restriction(self, action: LiftRestrictionInput) -> None:
        self._check_decision(LIFT_RESTRICTION, CaseState.RESTRICTED, action.handler)
