"""What a handler does in each state a case waits in, to take it to its end: one table, which
the demo follows at the command line (scripts/stack.py) and the load benchmark straight on the
workflows (bench/drive.py). Each step is a row of the action table (contract.handling), with the
body it sends besides `handler`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from contract import handling
from contract.case import CaseState
from contract.handling import (
    APPROVE_ERASURE_PLAN,
    APPROVE_RELEASE,
    DECIDE_RECTIFICATION,
    LIFT_RESTRICTION,
    PREPARE_ERASURE_PLAN,
    RECORD_MANUAL_DELIVERY,
    VERIFY_IDENTITY,
)
from contract.vocabulary import Channel, Kind


@dataclass(frozen=True)
class HandlerStep:
    action: handling.Action
    body: Mapping[str, str] = field(default_factory=dict)
    # The body instead, for a request that came by letter.
    by_letter: Mapping[str, str] | None = None
    # Four eyes: taken by a team lead other than the case's handler (an erasure plan's approval).
    by_another_team_lead: bool = False

    @property
    def update(self) -> str:
        return self.action.update

    def body_for(self, channel: Channel | None) -> Mapping[str, str]:
        return self.by_letter if self.by_letter and channel is Channel.LETTER else self.body

    def taken_by(self, handler: str, team_leads: Sequence[str]) -> str:
        """Who takes the step on `handler`'s case: the handler, or the first of `team_leads`
        other than them (four eyes)."""
        if not self.by_another_team_lead:
            return handler
        return next(lead for lead in team_leads if lead.casefold() != handler.casefold())


# (kind, state): a kind's own step in a state first, then every kind's (kind None).
STEPS: dict[tuple[Kind | None, CaseState], HandlerStep] = {
    (Kind.ERASURE, CaseState.AWAITING_DECISION): HandlerStep(PREPARE_ERASURE_PLAN),
    (Kind.ERASURE, CaseState.AWAITING_APPROVAL): HandlerStep(
        APPROVE_ERASURE_PLAN, by_another_team_lead=True
    ),
    (Kind.RECTIFICATION, CaseState.AWAITING_DECISION): HandlerStep(
        DECIDE_RECTIFICATION, {"decision": "accept"}
    ),
    (None, CaseState.AWAITING_IDENTITY): HandlerStep(
        VERIFY_IDENTITY, {"method": "id_checked"}, by_letter={"method": "signed_letter"}
    ),
    (None, CaseState.AWAITING_REVIEW): HandlerStep(APPROVE_RELEASE),
    (None, CaseState.RESTRICTED): HandlerStep(
        LIFT_RESTRICTION, {"reason": "Tvisten om uppgifterna är avgjord."}
    ),
    (None, CaseState.AWAITING_MANUAL_DELIVERY): HandlerStep(
        RECORD_MANUAL_DELIVERY, {"note": "Hämtat på kundcenter mot uppvisad legitimation."}
    ),
}
# The states a case waits in for one of these steps.
WAITING: frozenset[CaseState] = frozenset(state for _, state in STEPS)


def step_for(kind: Kind, state: CaseState) -> HandlerStep | None:
    """The step a handler takes on a case of `kind` waiting in `state`, if there is one."""
    return STEPS.get((kind, state)) or STEPS.get((None, state))
