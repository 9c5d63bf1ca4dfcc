"""Who may take which action on a case: the roles of the staff roster and what each allows.

Pure and free of I/O, so that workflows can judge an actor by the roster they last read.
Roles come from two declarations: the staff roster (handler, team lead, DPO) and the
delegation register, which makes a person a decision maker for the matters delegated to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum


class Role(StrEnum):
    HANDLER = "handler"
    TEAM_LEAD = "team_lead"
    # The data protection officer advises and is told, but does not act on cases: the DPO's
    # independence (Art. 38(6)) rules out deciding what the DPO is to review.
    DPO = "dpo"
    # Given by the delegation register (on the day), never listed in the roster itself.
    DECIDES_PUBLIC_ACCESS = "decides_public_access"
    DECIDES_GDPR = "decides_gdpr"


class Matter(StrEnum):
    """What a delegation covers (a point of the delegationsordning)."""

    PUBLIC_ACCESS = "public_access"  # refusing official documents, dismissing late appeals
    GDPR = "gdpr"  # refusing a data subject's request, wholly or in part


DELEGATED = {Matter.PUBLIC_ACCESS: Role.DECIDES_PUBLIC_ACCESS, Matter.GDPR: Role.DECIDES_GDPR}
# The roles the roster itself may give.
ROSTER_ROLES = frozenset({Role.HANDLER, Role.TEAM_LEAD, Role.DPO})

DESCRIBED = {
    Role.HANDLER: "a case handler",
    Role.TEAM_LEAD: "a team lead",
    Role.DPO: "the data protection officer",
    Role.DECIDES_PUBLIC_ACCESS: "a decision maker with delegation for public-access decisions",
    Role.DECIDES_GDPR: "a decision maker with delegation for GDPR refusals",
}

_HANDLER = frozenset({Role.HANDLER})
_APPROVER = frozenset({Role.TEAM_LEAD, Role.DECIDES_GDPR})

# Action -> (the roles any one of which allows it, what the action is, for messages).
ACTIONS: dict[str, tuple[frozenset[Role], str]] = {
    "verify_identity": (_HANDLER, "verify identity"),
    "close_unverified": (_HANDLER, "close a case as unverified"),
    "record_manual_delivery": (_HANDLER, "record a manual delivery"),
    "extend": (_HANDLER, "extend the deadline"),
    "ask_clarification": (_HANDLER, "ask for a clarification"),
    "record_clarification": (_HANDLER, "record a clarification"),
    "link": (_HANDLER, "link cases"),
    "withdraw": (_HANDLER, "record a withdrawal"),
    "approve_release": (_HANDLER, "approve the release"),
    "request_changes": (_HANDLER, "request changes"),
    "accept_rectification": (_HANDLER, "accept the rectification"),
    "lift_restriction": (_HANDLER, "lift the restriction"),
    "record_restriction_ground": (_HANDLER, "record the ground of a restriction"),
    "prepare_erasure_plan": (_HANDLER, "prepare the erasure plan"),
    "record_disposal_decision": (_HANDLER, "record a disposal decision"),
    "search_again": (_HANDLER, "search again"),
    "confirm_documents": (_HANDLER, "confirm the documents"),
    "review_document": (_HANDLER, "review a document"),
    "request_formal_decision": (_HANDLER, "ask for a formal decision"),
    "register_appeal": (_HANDLER, "register an appeal"),
    # The assignee hands their own case on; anyone else's needs a team lead.
    "hand_on": (_HANDLER, "hand the case on"),
    "reassign": (frozenset({Role.TEAM_LEAD}), "reassign another handler's case"),
    "take_case": (_HANDLER, "be assigned a case"),
    # Refusals are formal decisions: only by delegation (DOMAIN.md, the organisation).
    "refuse": (frozenset({Role.DECIDES_GDPR}), "refuse the request"),
    "refuse_rectification": (
        frozenset({Role.DECIDES_GDPR}),
        "refuse the rectification, wholly or in part",
    ),
    # Four eyes: someone with authority other than the preparer approves what is erased.
    "approve_erasure_plan": (_APPROVER, "approve the erasure plan"),
    "reject_erasure_plan": (_APPROVER, "send the erasure plan back"),
    "make_formal_decision": (frozenset({Role.DECIDES_PUBLIC_ACCESS}), "make the formal decision"),
    # Reads through the case service (each one recorded in the case's trail).
    "read_extract": (frozenset({Role.HANDLER, Role.TEAM_LEAD}), "read a subject's extract"),
    "read_trail": (
        frozenset({Role.HANDLER, Role.TEAM_LEAD, Role.DPO}),
        "read the case's audit trail",
    ),
    "dismiss_late_appeal": (frozenset({Role.DECIDES_PUBLIC_ACCESS}), "dismiss a late appeal"),
}


def refusal(staff: Mapping[str, Sequence[Role]], actor: str, action: str) -> str | None:
    """Why `actor` may not take `action` by the roster `staff` (ids casefolded), or None."""
    needed, what = ACTIONS[action]
    roles = staff.get(actor.casefold())
    if roles is None:
        return f"{actor} is not in the staff roster, so may not {what}"
    if needed.intersection(roles):
        return None
    if Role.DPO in roles:
        return (
            f"{actor} is the data protection officer, who advises and is told, and may not "
            f"{what} (Art. 38(6))"
        )
    takes = " or ".join(DESCRIBED[role] for role in _in_order(needed))
    held = ", ".join(DESCRIBED[role] for role in _in_order(roles)) or "no role"
    return f"{actor} may not {what}: that takes {takes}; {actor} is {held}"


def _in_order(roles: frozenset[Role] | Sequence[Role]) -> list[Role]:
    """In the order the roles are declared: handler first, the delegated last."""
    return [role for role in Role if role in roles]
