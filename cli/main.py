"""The commands. Each checks what it can of its input here (the shape of a case number, a day,
a period), sends the rest to the case service, and prints the service's answer: one JSON object
with --json, a line or a table otherwise. A refusal is one line on stderr and exit code 1; the
service checks roles, the law and the case's state before anything is written.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import signin
from cli.api import ApiError, call
from cli.parse import (
    UserError,
    build_contact,
    build_query,
    fail,
    parse_case_number,
    parse_change,
    parse_day,
    parse_document_id,
    parse_ground,
    parse_mask,
    parse_past_day,
    parse_period,
    parse_received,
    today,
)
from cli.show import (
    console,
    emit,
    errors,
    print_action,
    print_documents,
    print_registered,
    print_status,
)
from contract.roles import ACTIONS, Role
from contract.vocabulary import (
    Channel,
    IdentityMethod,
    Kind,
    RectifiableField,
    RectificationDecision,
    RestrictionGround,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
CaseArgument = Annotated[str, typer.Argument(help="Case number, e.g. DSR-2026-000042.")]
DocumentArgument = Annotated[str, typer.Argument(help="Document id, as `documents` lists it.")]

app = typer.Typer(
    help="Handle data-subject requests (GDPR) and requests for official documents "
    "(offentlighetsprincipen) through the case service, as the person signed in with "
    "`dsr login`: register, verify, review, decide, follow up.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: drawing it with rich takes longer than all the rest of a start.
    rich_markup_mode=None,
)
submit_app = typer.Typer(
    help="Register a data-subject request (GDPR); for official documents see request-documents.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(submit_app, name="submit")
audit_app = typer.Typer(
    help="The case's tamper-evident trail: verify its hash chain, export evidence.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(audit_app, name="audit")


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Turn every expected failure into one line on stderr and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except (UserError, ApiError, signin.SignInError) as error:
            errors().print(f"error: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except (KeyError, TypeError, ValueError):
            # Not the case service's answer (a proxy's page, another program on the port).
            errors().print(
                f"error: the case service at {signin.service_url()} answered something that "
                "is not its API"
            )
            raise typer.Exit(1) from None

    wrapper.__doc__ = reflowed(func.__doc__)
    return wrapper


def register(group: typer.Typer, name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`group`'s command `name`: failures as one line (`command`), and the docstring's first
    paragraph, whole, in the list of commands."""

    def add(func: Callable[..., None]) -> Callable[..., None]:
        wrapped = command(func)
        summary = (wrapped.__doc__ or "").split("\n\n")[0]
        group.command(name, short_help=summary)(wrapped)
        return wrapped

    return add


def reflowed(doc: str | None) -> str | None:
    """Help text without the docstring's line breaks, so --help wraps it to the terminal: the
    command list shows the first paragraph, a command's --help all of them."""
    if doc is None:
        return None
    return "\n\n".join(" ".join(part.split()) for part in inspect.cleandoc(doc).split("\n\n"))


def act(case: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A handler action on a case, as the signed-in person."""
    answer: dict[str, Any] = call(
        "POST", f"/cases/{parse_case_number(case)}/{path}", body=body or {}
    )
    return answer


# --- registering requests ----------------------------------------------------------------------


ReceivedOption = Annotated[
    str | None,
    typer.Option("--received", help="Date (2026-03-05) or instant with zone; default now."),
]
ChannelOption = Annotated[Channel, typer.Option("--channel", help="How the request came in.")]
AssignOption = Annotated[
    str | None, typer.Option("--assign", help="Assign the new case to this handler.")
]
SubjectOption = Annotated[
    str, typer.Option("--subject", help="Personnummer or samordningsnummer (10 or 12 digits).")
]
AnswerReceivedOption = Annotated[
    str | None,
    typer.Option("--received", help="The day the answer arrived (YYYY-MM-DD); default today."),
]


def submit_request(
    kind: Kind,
    *,
    subject: str,
    received: str | None,
    channel: Channel,
    assign: str | None,
    as_json: bool,
    details: dict[str, Any] | None = None,
) -> None:
    """Registered by the service as the signed-in person; it waits for the case number."""
    body = {
        "kind": kind.value,
        "subject": subject,
        "received": parse_received(received),
        "channel": channel.value,
        "assignee": assign,
        "details": details or {},
    }
    print_registered(kind, call("POST", "/requests", body=body), as_json)


DeliverElsewhereOption = Annotated[
    bool,
    typer.Option(
        "--deliver-elsewhere",
        help="The subject wants the answer somewhere else than their own digital mailbox or "
        "population-register address (another address, an e-mail, a representative): identity "
        "is proven first, and a handler hands it over.",
    ),
]


def _submit_command(kind: Kind, summary: str) -> None:
    """`submit KIND`: the kinds that need nothing beyond the subject and the intake options."""

    def submit_kind(
        subject: SubjectOption,
        received: ReceivedOption = None,
        channel: ChannelOption = Channel.E_SERVICE,
        assign: AssignOption = None,
        deliver_elsewhere: DeliverElsewhereOption = False,
        as_json: JsonOption = False,
    ) -> None:
        submit_request(
            kind,
            subject=subject,
            received=received,
            channel=channel,
            assign=assign,
            as_json=as_json,
            details={"deliver_elsewhere": deliver_elsewhere},
        )

    submit_kind.__doc__ = summary
    register(submit_app, kind.value)(submit_kind)


_submit_command(
    Kind.ACCESS,
    "A copy of one's personal data (GDPR Art. 15). No identity proof is asked when the answer "
    "goes to the subject's own digital mailbox or by letter to their population-register "
    "address: it reaches nobody else.",
)
_submit_command(
    Kind.ERASURE,
    "Erase what may be erased; keep, restricted, what the law says must stay (GDPR Art. 17).",
)
_submit_command(
    Kind.PORTABILITY,
    "One's provided and observed data as JSON and CSV, for another provider (GDPR Art. 20).",
)


@register(submit_app, "rectification")
def submit_rectification(
    subject: SubjectOption,
    change: Annotated[
        list[str],
        typer.Option(
            "--change",
            help="FIELD=NEW VALUE, repeatable. Fields: name, street, postal_code, city, email, "
            "phone.",
        ),
    ],
    evidence: Annotated[
        str | None, typer.Option("--evidence", help="What the subject showed or sent.")
    ] = None,
    restrict: Annotated[
        bool,
        typer.Option("--restrict", help="Restrict processing while accuracy is checked."),
    ] = False,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct or complete personal data in every system that holds it (GDPR Art. 16)."""
    changes = [parse_change(text, evidence) for text in change]
    if len({c["field"] for c in changes}) != len(changes):
        fail("--change: each field at most once")
    submit_request(
        Kind.RECTIFICATION,
        subject=subject,
        received=received,
        channel=channel,
        assign=assign,
        as_json=as_json,
        details={"changes": changes, "restrict_while_checking": restrict},
    )


@register(submit_app, "restriction")
def submit_restriction(
    subject: SubjectOption,
    ground: Annotated[
        RestrictionGround | None,
        typer.Option(
            "--ground",
            help="Art. 18(1): a accuracy contested, b unlawful but no erasure wanted, "
            "c needed for legal claims, d objection being assessed. Left out when the request "
            "names none: the subject is asked.",
        ),
    ] = None,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restrict processing in every system until a handler lifts it (GDPR Art. 18).

    A request that names no ground is not assumed to be one: the subject is asked which, and
    a handler records the answer with `record-restriction-ground`."""
    submit_request(
        Kind.RESTRICTION,
        subject=subject,
        received=received,
        channel=channel,
        assign=assign,
        as_json=as_json,
        details={"restriction_ground": ground.value if ground else None},
    )


@register(submit_app, "objection")
def submit_objection(
    subject: SubjectOption,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Object to direct marketing: applied at once, never refused (GDPR Art. 21(2)-(3))."""
    submit_request(
        Kind.OBJECTION,
        subject=subject,
        received=received,
        channel=channel,
        assign=assign,
        as_json=as_json,
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
    result = act(case, "verify-identity", body)
    print_action(result, as_json, f"identity verified ({method.value})")


def _simple_command(name: str, path: str, doc: str, done: str, reason: str | None = None) -> None:
    """An action that takes the case and at most a reason: `name CASE [--reason TEXT]`."""
    if reason is None:

        def simple(case: CaseArgument, as_json: JsonOption = False) -> None:
            print_action(act(case, path), as_json, done)

    else:

        def simple(  # type: ignore[misc]
            case: CaseArgument, because: str, as_json: JsonOption = False
        ) -> None:
            print_action(act(case, path, {"reason": because}), as_json, done)

        # Annotations are strings here (PEP 563): the option's help is this call's.
        simple.__annotations__["because"] = Annotated[str, typer.Option("--reason", help=reason)]

    simple.__doc__ = doc
    register(app, name)(simple)


_simple_command(
    "close-unverified",
    "close-unverified",
    "Close a case whose identity could not be verified; the subject gets a notice.",
    "closed as unverified",
    reason="Why identity could not be verified.",
)
_simple_command(
    "approve",
    "approve-release",
    "Approve the release of the reviewed extract (or copies); it is delivered at once.",
    "release approved",
)
_simple_command(
    "request-changes",
    "request-changes",
    "Send the extract back: collect and build again, then review again.",
    "changes requested",
    reason="What is to change.",
)
_simple_command(
    "lift-restriction",
    "lift-restriction",
    "Lift a restriction: the subject is told first, then the flags are removed.",
    "restriction being lifted",
    reason="Why the restriction ends.",
)
_simple_command(
    "prepare-erasure-plan",
    "prepare-erasure-plan",
    "Confirm the erasure plan (see `status`); a second person must then approve it.",
    "erasure plan prepared",
)
_simple_command(
    "reject-erasure-plan",
    "reject-erasure-plan",
    "Send a prepared erasure plan back: it is planned again, then prepared and approved again.",
    "erasure plan sent back",
    reason="What is wrong with the plan.",
)
_simple_command(
    "refuse",
    "refuse",
    "Refuse a manifestly unfounded or excessive request (Art. 12(5)); the DPO is told.",
    "refused",
    reason="Why it is manifestly unfounded.",
)
_simple_command(
    "request-formal-decision",
    "request-formal-decision",
    "Record that the requester asks for a formal, appealable decision on what was refused.\n\n"
    "Someone with delegated authority must then make it (`decide`).",
    "formal decision requested",
)
_simple_command(
    "decide",
    "make-formal-decision",
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
    result = act(case, "record-manual-delivery", {"note": note})
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
    result = act(case, "decide-rectification", body)
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
    result = act(case, "record-restriction-ground", body)
    print_action(result, as_json, f"ground {ground.value} recorded; restricting")


@register(app, "approve-erasure-plan")
def approve_erasure_plan(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Approve a prepared erasure plan (not the one who prepared it); it is checked against the
    systems and executed at once, or made again if it is outdated."""
    result = act(case, "approve-erasure-plan")
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
    result = act(case_number, "withdraw", body)
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
    result = act(case, "extend", {"reason": reason, "told_outside": told_outside})
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
    result = act(case, "ask-clarification", {"question": question})
    print_action(result, as_json, "question sent to the subject")


@register(app, "record-clarification")
def record_clarification(
    case: CaseArgument, received: AnswerReceivedOption = None, as_json: JsonOption = False
) -> None:
    """The subject has clarified: the clock runs again, the deadline later by the days paused.

    The pause ends the day the answer arrived (--received), not the day it is recorded."""
    body = {"received_on": parse_past_day(received, "--received")}
    print_action(act(case, "record-clarification", body), as_json, "clarification recorded")


@register(app, "reassign")
def reassign(
    case: CaseArgument,
    to: Annotated[str, typer.Option("--to", help="The handler who takes over the case.")],
    as_json: JsonOption = False,
) -> None:
    """Give the case to another handler; reminders go to them from now on."""
    print_action(act(case, "reassign", {"to": to}), as_json, f"assigned to {to}")


# --- reading ---------------------------------------------------------------------------------


@register(app, "status")
def status(case: CaseArgument, as_json: JsonOption = False) -> None:
    """State, deadline, days left, steps done, the extract, and linked cases.

    For a public-access request also what was asked, the documents, the fee, the formal
    decision and any appeal. Opening a case is recorded in its trail."""
    current: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}")
    emit(as_json, current, lambda: print_status(current))


@register(app, "list")
def list_cases(
    open_only: Annotated[bool, typer.Option("--open", help="Only cases still open.")] = False,
    kind: Annotated[Kind | None, typer.Option("--kind")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open cases past their deadline.")
    ] = False,
    due_within: Annotated[
        str | None,
        typer.Option("--due-within", help="Only open cases due within this time, e.g. 7d or 2w."),
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", help="Only this handler's cases.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Cases from the Temporal visibility store (what supervisors see in the Web UI)."""
    if assignee is not None and re.search(r"\d{6}", assignee):
        # Not sent: it would travel in the address, where a proxy's log could keep it.
        fail("--assignee: a handler id has no run of six digits (an identity number?)")
    params = {
        "open": open_only or None,
        "kind": kind.value if kind else None,
        "overdue": overdue or None,
        "due_within_days": parse_period(due_within).days if due_within is not None else None,
        "assignee": assignee,
    }
    answer: dict[str, Any] = call("GET", "/cases", params=params)

    def human() -> None:
        from rich.table import Table

        table = Table()
        columns = ("case_number", "kind", "state", "deadline", "assignee", "escalation")
        for column in ("case", *columns[1:]):
            table.add_column(column, no_wrap=True)
        for row in answer["cases"]:
            table.add_row(*(str(row.get(k) or "-") for k in columns))
        console().print(table)

    emit(as_json, answer, human)


@register(app, "show-extract")
def show_extract(
    case: CaseArgument,
    as_json_file: Annotated[
        bool, typer.Option("--json-file", help="The machine-readable JSON instead of the letter.")
    ] = False,
) -> None:
    """Print a case's extract for the review: the Swedish HTML letter, or its JSON.

    The service opens it from the sealed store for the person signed in, and the reading is
    recorded in the case's trail."""
    params = {"format": "json" if as_json_file else "html"}
    typer.echo(call("GET", f"/cases/{parse_case_number(case)}/extract", params=params, raw=True))


@register(app, "retention")
def retention(case: CaseArgument, as_json: JsonOption = False) -> None:
    """What an erasure case still keeps and when its follow-up looks again."""
    progress: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}/retention")

    def human() -> None:
        console().print(f"{progress['case_number']} retention follow-up, {progress['runs']} runs")
        console().print(f"next run: {progress.get('next_due') or 'none planned'}")
        waiting = {
            "running_contract": "a contract that still runs (looked at again monthly)",
            "archive": "the archive's disposal decision (record-disposal-decision)",
        }
        for rule in progress.get("waiting", []):
            console().print(f"waiting for: {waiting.get(rule, rule)}")
        if progress.get("disposal_reference"):
            console().print(f"disposal decision: {progress['disposal_reference']}")
        for table, rows in sorted((progress.get("erased") or {}).items()):
            console().print(f"erased so far: {table}: {rows}")

    emit(as_json, progress, human)


@register(app, "record-disposal-decision")
def record_disposal_decision(
    case: CaseArgument,
    reference: Annotated[
        str,
        typer.Option(
            "--reference", help="The disposal decision (gallringsbeslut), e.g. its diary number."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """The archive's disposal decision lets an erasure case's archived rows go now."""
    progress = act(case, "record-disposal-decision", {"reference": reference})
    erased = sum((progress.get("erased") or {}).values())
    emit(
        as_json,
        progress,
        lambda: console().print(
            f"{progress['case_number']}: disposal decision recorded; {erased} rows erased in all"
        ),
    )


# --- public access (offentlighetsprincipen) --------------------------------------------------


TypeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--type",
        help="A document type of the archive, repeatable (e.g. contract, invoice); an unknown "
        "one is answered with the archive's list.",
    ),
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Documents dated on or after this day (YYYY-MM-DD).")
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Documents dated on or before this day (YYYY-MM-DD).")
]
PartyOption = Annotated[
    str | None, typer.Option("--party", help="A party to the documents, e.g. a contractor.")
]
TextOption = Annotated[
    str | None, typer.Option("--text", help="Words in the title or the text, matched as written.")
]


@register(app, "request-documents")
def request_documents(
    description: Annotated[
        str,
        typer.Option(
            "--description",
            help="What is asked for, in a few words. Public (the register's entry): no names, "
            "e-mail addresses, phone or identity numbers.",
        ),
    ],
    sender: Annotated[
        str | None,
        typer.Option("--sender", help="The name the requester gave, if any; default anonymous."),
    ] = None,
    types: TypeOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    party: PartyOption = None,
    text: TextOption = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Send the copies and decisions here.")
    ] = None,
    address: Annotated[
        list[str] | None,
        typer.Option("--address", help="Or send them by post: an address line, repeatable."),
    ] = None,
    contact_name: Annotated[
        str | None,
        typer.Option(
            "--contact-name", help="The name to address them to (with --email/--address)."
        ),
    ] = None,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a request for official documents (offentlighetsprincipen, TF 2 kap.).

    Anyone may ask, anonymously, and need not say why: no identity number is taken. Without
    --email or --address the answer is handed over manually. The archive is searched at once
    with the search options (at least one): see `documents`."""
    body = {
        "sender": sender,
        "description": description,
        "query": build_query(types, date_from, date_to, party, text),
        "contact": build_contact(email, address or [], contact_name),
        "received": parse_received(received),
        "channel": channel.value,
        "assignee": assign,
    }
    print_registered(Kind.PUBLIC_ACCESS, call("POST", "/public-requests", body=body), as_json)


@register(app, "documents")
def documents(case: CaseArgument, as_json: JsonOption = False) -> None:
    """The documents found for a public-access request, confirmed and reviewed.

    Each document's id, type, date, title and pages, whether it is confirmed, and its review
    decision and grounds; pages and fee once the copies are made."""
    case_number = parse_case_number(case)
    public: dict[str, Any] = call("GET", f"/cases/{case_number}/documents")
    emit(as_json, public, lambda: print_documents(case_number, public))


@register(app, "show-document")
def show_document(
    case: CaseArgument, document: DocumentArgument, as_json: JsonOption = False
) -> None:
    """A document's full text from the archive, to review it for secrecy (one the case's search
    found); the reading is recorded in the case's trail."""
    number = parse_document_id(document)
    answer: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}/documents/{number}")
    emit(as_json, answer, lambda: console().print(answer["text"], markup=False, highlight=False))


@register(app, "search-again")
def search_again(
    case: CaseArgument,
    types: TypeOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    party: PartyOption = None,
    text: TextOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the archive again with other terms, before the documents are confirmed.

    The new search replaces the list of documents found (see `documents`)."""
    body = {"query": build_query(types, date_from, date_to, party, text)}
    print_action(act(case, "search-again", body), as_json, "searching again; see `documents`")


@register(app, "confirm-documents")
def confirm_documents(
    case: CaseArgument,
    document: Annotated[
        list[str] | None,
        typer.Option("--document", help="A document the request covers (repeatable)."),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every document the search found.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Confirm which of the documents found the request covers.

    Each confirmed document is then reviewed for secrecy (`review-document`)."""
    if every == bool(document):
        fail("give either --document (repeatable) or --all")
    ids = list(dict.fromkeys(parse_document_id(text, "--document") for text in document or []))
    case_number = parse_case_number(case)
    if every:
        # Every document the search found, as listed now.
        public = call("GET", f"/cases/{case_number}/documents")
        if public["state"] != "awaiting_confirmation":
            fail(
                f"case {case_number} is {public['state']}; you can confirm the documents only "
                "while it is awaiting_confirmation"
            )
        ids = [candidate["document_id"] for candidate in public["candidates"]]
        if not ids:
            fail(f"case {case_number}: no documents were found; search again (`search-again`)")
    result = act(case_number, "confirm-documents", {"document_ids": ids})
    print_action(result, as_json, f"{len(ids)} documents confirmed for review")


@register(app, "review-document")
def review_document(
    case: CaseArgument,
    document: DocumentArgument,
    release: Annotated[
        bool, typer.Option("--release", help="Release the document as it stands.")
    ] = False,
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            help="TEXT=GROUND, repeatable: release with TEXT masked wherever it occurs (any "
            "case, across line breaks), on GROUND, e.g. 'Storgatan 1=OSL 21:3'; with "
            "--withhold, a part of the title.",
        ),
    ] = None,
    withhold: Annotated[
        str | None,
        typer.Option("--withhold", help="Withhold the whole document on GROUND, e.g. 31:16."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Review one confirmed document for secrecy: release, mask parts or withhold it.

    Give exactly one of --release, --mask (repeatable) and --withhold. A withheld document is
    named in the answer by its title: with --withhold, --mask masks parts of the title. Masks
    find every occurrence, whatever its case or line breaks. Grounds: OSL 21:3, OSL 21:7,
    OSL 31:16, OSL 19:1, OSL 18:8 (security measures for the grid's installations), OSL 18:13
    (risk and vulnerability analyses); 'OSL' may be left out. A decision can be changed until
    the last document is reviewed; then the copies go out with the fee."""
    decisions = (release, withhold is not None, bool(mask) and withhold is None)
    if sum(decisions) != 1:
        fail(
            "give exactly one of --release, --mask (repeatable) and --withhold (with --withhold, "
            "--mask masks parts of the title)"
        )
    number = parse_document_id(document)
    masks = [parse_mask(m) for m in mask or []]
    ground = parse_ground(withhold, "--withhold").value if withhold is not None else None
    decision = "withhold" if withhold is not None else "mask" if masks else "release"
    body = {"document_id": number, "decision": decision, "masks": masks, "ground": ground}
    result = act(case, "review-document", body)
    print_action(result, as_json, f"document {number} reviewed ({decision})")


@register(app, "preview-copies")
def preview_copies(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Show exactly what the requester will receive: the letter and every copy, with the
    masked parts removed, opened from the sealed store for the person signed in.

    Then `approve CASE` sends them, or `review-document` changes a review (the copies are made
    again, to be looked at again)."""
    preview: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}/preview")

    def human() -> None:
        for name, text in preview["files"].items():
            console().rule(name)
            console().print(text, markup=False, highlight=False)

    emit(as_json, preview, human)


@register(app, "register-appeal")
def register_appeal(
    case: CaseArgument,
    received: Annotated[
        str,
        typer.Option(
            "--received",
            help="The day the appeal reached the company (YYYY-MM-DD); it decides whether it "
            "is in time.",
        ),
    ],
    decision_received: Annotated[
        str | None,
        typer.Option(
            "--decision-received",
            help="The day the requester received the decision, if later than it was sent "
            "(a decision sent by letter); the period runs from then.",
        ),
    ] = None,
    court_received: Annotated[
        str | None,
        typer.Option(
            "--court-received",
            help="The day it reached the court, when lodged there and sent on to us: in time "
            "there, it is never dismissed (FL 45 § second paragraph).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register an appeal against a formal decision on official documents.

    In time (by the day it reached the company), it is forwarded to the court; too late, it
    is dismissed and the requester told: a decision that only a delegate may register."""
    received_on = parse_day(received, "--received")
    if received_on > today():
        fail("--received: the appeal cannot reach the company in the future")
    decision_on = parse_day(decision_received, "--decision-received") if decision_received else None
    if decision_on and decision_on > received_on:
        fail("--decision-received: after the appeal came in")
    body = {
        "received_on": received_on.isoformat(),
        "decision_received_on": decision_on.isoformat() if decision_on else None,
        "court_received_on": parse_past_day(court_received, "--court-received"),
    }
    number = parse_case_number(case)
    result = act(number, "register-appeal", body)
    after = call("GET", f"/cases/{number}")
    appeal = (after.get("public") or {}).get("appeal")
    if appeal is None:
        what = "appeal registered"
    elif appeal["timely"]:
        what = f"appeal in time (period ended {appeal['period_end']}): forwarded to the court"
    else:
        what = f"appeal too late (period ended {appeal['period_end']}): dismissed"
    print_action(result, as_json, what)


@register(app, "record-decision-receipt")
def record_decision_receipt(
    case: CaseArgument,
    received: Annotated[
        str, typer.Option("--received", help="The day the decision reached the requester.")
    ],
    evidence: Annotated[
        str, typer.Option("--evidence", help="How that is shown, e.g. a signed receipt.")
    ],
    as_json: JsonOption = False,
) -> None:
    """The day a formal decision sent by letter reached the requester, and how it is shown.

    Until it is recorded the appeal period has not begun, and no appeal is dismissed as late
    (FL 44 §); from it, the three weeks run."""
    day = parse_past_day(received, "--received")
    result = act(case, "record-decision-receipt", {"received_on": day, "evidence": evidence})
    print_action(result, as_json, f"decision received {day}; the appeal period runs from it")


@register(app, "link")
def link(
    case: CaseArgument,
    other: Annotated[str, typer.Argument(help="The case to link it with.")],
    as_json: JsonOption = False,
) -> None:
    """Link two open cases handled together; each then names the other in `status`.

    E.g. a person's access request and their request for official documents."""
    first, second = parse_case_number(case), parse_case_number(other)
    if first == second:
        fail("a case cannot be linked with itself")
    answer = act(first, "link", {"other": second})
    emit(as_json, answer, lambda: console().print(f"{first} and {second} are linked"))


# --- the audit trail ---------------------------------------------------------------------------


@register(audit_app, "verify")
def audit_verify(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Recompute the case's hash chain: an edited, removed or inserted trail row is found.

    Exits 1 when the chain is broken. The number of rows is also compared with the
    workflow's own count of state transitions, when the workflow can be asked."""
    case_number = parse_case_number(case)
    result: dict[str, Any] = call("GET", f"/cases/{case_number}/audit")

    def human() -> None:
        if result["intact"]:
            unchained = result["unchained_before_the_chain"]
            console().print(
                f"{case_number}: the trail is intact: {result['chained']} rows chained"
                + (f", {unchained} from before the chain" if unchained else "")
                + f"; head {result['head'][:16]}"
            )
        for problem in result["problems"]:
            errors().print(f"{case_number}: {problem}", markup=False, highlight=False)
        if not result["compared_with_workflow"]:
            errors().print(
                f"{case_number}: not compared with the workflow (it cannot be asked now): "
                "rows cut off the end would not show",
                markup=False,
                highlight=False,
            )

    emit(as_json, result, human)
    if not result["intact"]:
        raise typer.Exit(1)


@register(audit_app, "export")
def audit_export(
    case: CaseArgument,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Where to write the evidence; default ./CASE-audit.json."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the case's evidence as JSON: the register entry, every event (who, what, when;
    every reading of the case included), each link of the hash chain and its verification.
    No payload data."""
    case_number = parse_case_number(case)
    target = Path(out) if out else Path.cwd() / f"{case_number}-audit.json"
    evidence: dict[str, Any] = call("GET", f"/cases/{case_number}/audit/export")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(evidence, ensure_ascii=False, indent=2), encoding="utf-8")
    verification = evidence["verification"]
    emit(
        as_json,
        {"case_number": case_number, "path": str(target), **verification},
        lambda: console().print(
            f"{case_number}: evidence written to {target} ("
            + ("chain intact" if verification["intact"] else "CHAIN BROKEN")
            + ")"
        ),
    )


# --- who is signed in ----------------------------------------------------------------------


@register(app, "login")
def login() -> None:
    """Sign in to the case service (DSR_SERVICE_URL): open the page shown, enter the code,
    sign in with your own account. The sign-in is kept for you alone (mode 0600)."""
    service = signin.service_url()
    record = signin.login(service, show=lambda line: typer.echo(line))
    me = call("GET", "/me")
    roles = ", ".join(me["roles"]) or "no role"
    console().print(f"Signed in to {record['service']} as {me['login']} ({roles})")


@register(app, "logout")
def logout() -> None:
    """Sign out: the kept sign-in is revoked at the identity provider and removed."""
    service = signin.service_url()
    removed = signin.logout(service)
    console().print(f"Signed out of {service}" if removed else f"Not signed in to {service}")


@register(app, "whoami")
def whoami(as_json: JsonOption = False) -> None:
    """Who the case service takes you for, and your roles today."""
    me: dict[str, Any] = call("GET", "/me")
    emit(
        as_json,
        me,
        lambda: console().print(f"{me['login']} ({', '.join(me['roles']) or 'no role'})"),
    )


@register(app, "roster")
def roster(
    on: Annotated[
        str | None, typer.Option("--on", help="The day, YYYY-MM-DD; default today.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Who may act on cases, in which roles, on a day: the staff roster with the decision
    makers of the delegation register."""
    day = parse_day(on, "--on").isoformat() if on is not None else None
    answer: dict[str, Any] = call("GET", "/roster", params={"on": day})

    def human() -> None:
        from rich.table import Table

        table = Table(title=f"Staff roster on {answer['on']}")
        table.add_column("handler id")
        table.add_column("roles")
        table.add_column("may also")
        for who, held in answer["staff"].items():
            # Handler work is everyone's who has the role; shown are the actions beyond it.
            beyond = sorted(
                what
                for needed, what in ACTIONS.values()
                if Role.HANDLER not in needed and needed & set(held)
            )
            if Role.DPO in held:
                beyond = ["acts on no case (told of escalations and refusals)"]
            table.add_row(who, ", ".join(held), "; ".join(beyond))
        console().print(table)

    emit(as_json, answer, human)


def main() -> None:
    app()
    sys.stdout.flush()
