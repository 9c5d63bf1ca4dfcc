"""The handler actions on a case: verify, approve, decide, withdraw, extend, reassign, ..."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.api import call
from cli.app import AnswerReceivedOption, CaseArgument, JsonOption, act, app, register
from cli.parse import parse_case_number, parse_past_day
from cli.show import print_action
from contract import handling
from contract.handling import (
    APPROVE_ERASURE_PLAN,
    APPROVE_RELEASE,
    ASK_CLARIFICATION,
    CLOSE_UNVERIFIED,
    DECIDE_RECTIFICATION,
    EXTEND,
    LIFT_RESTRICTION,
    MAKE_FORMAL_DECISION,
    PREPARE_ERASURE_PLAN,
    REASSIGN,
    RECORD_CLARIFICATION,
    RECORD_MANUAL_DELIVERY,
    RECORD_RESTRICTION_GROUND,
    REFUSE,
    REJECT_ERASURE_PLAN,
    REQUEST_CHANGES,
    REQUEST_FORMAL_DECISION,
    VERIFY_IDENTITY,
    WITHDRAW,
)
from contract.vocabulary import (
    IdentityMethod,
    RectifiableField,
    RectificationDecision,
    RestrictionGround,
)

# --- handler actions -------------------------------------------------------------------------


@register(app, "verify-identity")
def verify_identity(
    case: CaseArgument,
    method: Annotated[IdentityMethod, typer.Option("--method")],
    supplied: Annotated[
        str | None,
        typer.Option(
            "--supplied",
            help="The day the subject supplied the proof (the letter arrived, the visit); "
            "YYYY-MM-DD, default today.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record how the subject's identity was proven; the case goes on to collection.

    The clock's pause ends the day the proof was supplied (--supplied), not the day it is
    recorded."""
    body = {"method": method.value, "supplied_on": parse_past_day(supplied, "--supplied")}
    result = act(case, VERIFY_IDENTITY, body)
    print_action(result, as_json, f"identity verified ({method.value})")


def _simple_command(
    name: str, action: handling.Action, doc: str, done: str, reason: str | None = None
) -> None:
    """An action that takes the case and at most a reason: `name CASE [--reason TEXT]`."""
    if reason is None:

        def simple(case: CaseArgument, as_json: JsonOption = False) -> None:
            print_action(act(case, action), as_json, done)

    else:

        def simple(  # type: ignore[misc]
            case: CaseArgument, because: str, as_json: JsonOption = False
        ) -> None:
            print_action(act(case, action, {"reason": because}), as_json, done)

        # Annotations are strings here (PEP 563): the option's help is this call's.
        simple.__annotations__["because"] = Annotated[str, typer.Option("--reason", help=reason)]

    simple.__doc__ = doc
    register(app, name)(simple)


_simple_command(
    "close-unverified",
    CLOSE_UNVERIFIED,
    "Close a case whose identity could not be verified; the subject gets a notice.",
    "closed as unverified",
    reason="Why identity could not be verified.",
)
_simple_command(
    "approve",
    APPROVE_RELEASE,
    "Approve the release of the reviewed extract (or copies); it is delivered at once.",
    "release approved",
)
_simple_command(
    "request-changes",
    REQUEST_CHANGES,
    "Send the extract back: collect and build again, then review again.",
    "changes requested",
    reason="What is to change.",
)
_simple_command(
    "lift-restriction",
    LIFT_RESTRICTION,
    "Lift a restriction: the subject is told first, then the flags are removed.",
    "restriction being lifted",
    reason="Why the restriction ends.",
)
_simple_command(
    "prepare-erasure-plan",
    PREPARE_ERASURE_PLAN,
    "Confirm the erasure plan (see `status`); a second person must then approve it.",
    "erasure plan prepared",
)
_simple_command(
    "reject-erasure-plan",
    REJECT_ERASURE_PLAN,
    "Send a prepared erasure plan back: it is planned again, then prepared and approved again.",
    "erasure plan sent back",
    reason="What is wrong with the plan.",
)
_simple_command(
    "refuse",
    REFUSE,
    "Refuse a manifestly unfounded or excessive request (Art. 12(5)); the DPO is told.",
    "refused",
    reason="Why it is manifestly unfounded.",
)
_simple_command(
    "request-formal-decision",
    REQUEST_FORMAL_DECISION,
    "Record that the requester asks for a formal, appealable decision on what was refused.\n\n"
    "Someone with delegated authority must then make it (`decide`).",
    "formal decision requested",
)
_simple_command(
    "decide",
    MAKE_FORMAL_DECISION,
    "Make the formal decision on a public-access request (delegated authority only).\n\n"
    "Only a handler named in the delegation register may decide. The decision is sent with how "
    "to appeal, and the appeal period starts.",
    "formal decision made and sent",
)


@register(app, "record-manual-delivery")
def record_manual_delivery(
    case: CaseArgument,
    note: Annotated[str, typer.Option("--note", help="How it was handed over.")],
    as_json: JsonOption = False,
) -> None:
    """Record that an answer was handed over manually.

    A protected identity's answer, or a public-access request's without a contact."""
    result = act(case, RECORD_MANUAL_DELIVERY, {"note": note})
    print_action(result, as_json, "manual delivery recorded")


@register(app, "decide-rectification")
def decide_rectification(
    case: CaseArgument,
    decision: Annotated[RectificationDecision, typer.Option("--decision")],
    accept: Annotated[
        list[RectifiableField] | None,
        typer.Option("--accept", help="For --decision partly: a field to correct (repeatable)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Required for partly and reject.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Decide which of the requested corrections are made; they are applied everywhere."""
    body = {
        "decision": decision.value,
        "accepted_fields": [f.value for f in accept or []],
        "reason": reason,
    }
    result = act(case, DECIDE_RECTIFICATION, body)
    print_action(result, as_json, f"rectification decided ({decision.value})")


@register(app, "record-restriction-ground")
def record_restriction_ground(
    case: CaseArgument,
    ground: Annotated[
        RestrictionGround, typer.Option("--ground", help="a, b, c or d (Art. 18(1)).")
    ],
    received: AnswerReceivedOption = None,
    as_json: JsonOption = False,
) -> None:
    """The subject has said on which ground of Art. 18(1) processing is to be restricted; the
    restriction is applied. The clock's pause ends the day the answer arrived."""
    body = {"ground": ground.value, "received_on": parse_past_day(received, "--received")}
    result = act(case, RECORD_RESTRICTION_GROUND, body)
    print_action(result, as_json, f"ground {ground.value} recorded; restricting")


@register(app, "approve-erasure-plan")
def approve_erasure_plan(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Approve a prepared erasure plan (not the one who prepared it); it is checked against the
    systems and executed at once, or made again if it is outdated."""
    result = act(case, APPROVE_ERASURE_PLAN)
    outdated = result["state"] in ("planning", "awaiting_decision")
    print_action(
        result,
        as_json,
        "the plan was outdated and is made again (see status); prepare and approve it again"
        if outdated
        else "erasure plan approved and being executed",
    )


@register(app, "withdraw")
def withdraw(
    case: CaseArgument,
    received: Annotated[
        str | None,
        typer.Option(
            "--received", help="The day the withdrawal reached us (YYYY-MM-DD); default today."
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="How it came in, e.g. 'Telefonsamtal'.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The subject (or requester) withdraws the request: any time while the case waits.

    What the case is doing stops (collection, review), a confirmation goes out, and it closes
    as withdrawn. What was already carried out, an erasure say, stays carried out; a
    restriction held for the request is lifted, the subject told first."""
    body = {"received_on": parse_past_day(received, "--received"), "note": note}
    case_number = parse_case_number(case)
    result = act(case_number, WITHDRAW, body)
    after = call("GET", f"/cases/{case_number}")
    what = (
        "withdrawn; the confirmation is sent"
        if after["outcome"] == "withdrawn"
        else f"answered before the withdrawal took effect ({after['outcome']})"
    )
    print_action(result, as_json, what)


@register(app, "extend")
def extend(
    case: CaseArgument,
    reason: Annotated[
        str, typer.Option("--reason", help="Why more time is needed (the subject is told).")
    ],
    told_outside: Annotated[
        bool,
        typer.Option(
            "--told-outside",
            help="You told the subject the reasons and the new deadline by letter or phone.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Extend the deadline by two months (Art. 12(3)): once, before the original deadline; the
    subject is told the reason and the new deadline as part of it."""
    result = act(case, EXTEND, {"reason": reason, "told_outside": told_outside})
    print_action(result, as_json, "deadline extended by two months")


@register(app, "ask-clarification")
def ask_clarification(
    case: CaseArgument,
    question: Annotated[
        str, typer.Option("--question", help="What the subject needs to clarify (sent to them).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Ask the subject to clarify the request; the clock stands still until the answer is
    recorded, if asked within 3 working days of receipt."""
    result = act(case, ASK_CLARIFICATION, {"question": question})
    print_action(result, as_json, "question sent to the subject")


@register(app, "record-clarification")
def record_clarification(
    case: CaseArgument, received: AnswerReceivedOption = None, as_json: JsonOption = False
) -> None:
    """The subject has clarified: the clock runs again, the deadline later by the days paused.

    The pause ends the day the answer arrived (--received), not the day it is recorded."""
    body = {"received_on": parse_past_day(received, "--received")}
    print_action(act(case, RECORD_CLARIFICATION, body), as_json, "clarification recorded")


@register(app, "reassign")
def reassign(
    case: CaseArgument,
    to: Annotated[str, typer.Option("--to", help="The handler who takes over the case.")],
    as_json: JsonOption = False,
) -> None:
    """Give the case to another handler; reminders go to them from now on."""
    print_action(act(case, REASSIGN, {"to": to}), as_json, f"assigned to {to}")
