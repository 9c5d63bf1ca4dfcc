"""The case handler's CLI (also installed as `dsr`). Talks to Temporal only through the client.

Data-subject requests (GDPR) are registered with `submit KIND`; requests for official documents
(offentlighetsprincipen) with `request-documents`, then `documents`, `show-document`,
`confirm-documents`, `review-document` and, when something was refused, the formal decision
and its appeal. `link` ties two cases handled together.

Every command takes --json for scripts. Bad input prints one line on stderr, exits non-zero and
changes nothing: input is checked here first, and the workflows' update validators reject an
action in the wrong state before anything is written.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.store import ExtractStore
from dsr import schema, signin
from dsr.adapters import FakeEidProvider
from dsr.audit import chain_key
from dsr.audit import evidence as audit_evidence
from dsr.audit import verify as verify_chain
from dsr.calendar import STOCKHOLM
from dsr.client import ConnectionSettingsError, connect
from dsr.codec import EncryptionKeyError
from dsr.config import Settings, get_settings
from dsr.db import Case, create_engine
from dsr.db import sessionmaker as register_sessions
from dsr.delegation import DelegationError, load_delegations
from dsr.models import (
    CASE_NUMBER_PATTERN,
    ActionResult,
    ApproveErasurePlanInput,
    ApproveReleaseInput,
    AskClarificationInput,
    CaseState,
    CaseStatus,
    Channel,
    CloseUnverifiedInput,
    ConfirmDocumentsInput,
    Contact,
    DecideRectificationInput,
    DocumentQuery,
    ExtendInput,
    FieldChange,
    FollowUpStatus,
    FormalDecisionInput,
    HandlerId,
    IdentityMethod,
    Kind,
    LiftRestrictionInput,
    LinkCaseInput,
    Mask,
    Outcome,
    PrepareErasurePlanInput,
    PublicAccessStatus,
    PublicRequest,
    ReassignInput,
    RecordClarificationInput,
    RecordDecisionReceiptInput,
    RecordDisposalDecisionInput,
    RecordManualDeliveryInput,
    RecordRestrictionGroundInput,
    RectifiableField,
    RectificationDecision,
    RefuseInput,
    RegisterAppealInput,
    RejectErasurePlanInput,
    RequestChangesInput,
    RequestDetails,
    RequestFormalDecisionInput,
    RestrictionGround,
    ReviewDecision,
    ReviewDocumentInput,
    SearchAgainInput,
    SecrecyGround,
    SubmitRequestInput,
    VerifyIdentityInput,
    WithdrawInput,
)
from dsr.roles import ACTIONS, Role, refusal
from dsr.roster import RosterError, load_roster
from dsr.subject import parse_subject_id
from service.cases import (
    QUERY_TIMEOUT,
    CaseError,
    case_handle,
    fetch_status,
    list_query,
    register,
    retention_handle,
    run_update,
    transitions,
)
from service.cases import list_cases as list_cases_in
from systems.catalog import validate_rectification
from systems.document_archive import ArchiveError, document_text, load_archive

app = typer.Typer(
    help="Handle data-subject requests (GDPR) and requests for official documents "
    "(offentlighetsprincipen): register, verify, review, decide, follow up.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
submit_app = typer.Typer(
    help="Register a data-subject request (GDPR); for official documents see request-documents.",
    no_args_is_help=True,
)
app.add_typer(submit_app, name="submit")

console = Console()
errors = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
HandlerOption = Annotated[str, typer.Option("--handler", help="Your handler id.")]
CaseArgument = Annotated[str, typer.Argument(help="Case number, e.g. DSR-2026-000042.")]


# A request registered late may carry an old date of receipt, but not an implausible one.
OLDEST_RECEIPT = timedelta(days=2 * 366)


class UserError(Exception):
    """Bad input or a refused action: one line for the handler, exit code 1."""


def fail(message: str) -> NoReturn:
    raise UserError(message)


def command(func: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async command and turn every expected failure into one line on stderr."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            asyncio.run(func(*args, **kwargs))
        except (UserError, schema.SchemaError, CaseError) as error:
            errors.print(f"error: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "input"
            text = first["msg"].removeprefix("Value error, ")
            errors.print(f"error: {where}: {text}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except RPCError as error:
            # Anything else Temporal says: one line, no traceback.
            errors.print(f"error: Temporal: {error.message}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except SQLAlchemyError as error:
            # A database the settings point to that is missing or unreadable; the statement
            # and its values stay out of the message.
            errors.print(
                f"error: database: {type(error).__name__} (check DSR_REGISTER_URL and "
                "DSR_DOCUMENT_ARCHIVE_URL)",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(1) from None

    wrapper.__doc__ = reflowed(func.__doc__)
    return wrapper


def reflowed(doc: str | None) -> str | None:
    """Help text without the docstring's line breaks, so --help wraps it to the terminal: the
    command list shows the first paragraph, a command's --help all of them."""
    if doc is None:
        return None
    return "\n\n".join(" ".join(part.split()) for part in inspect.cleandoc(doc).split("\n\n"))


# --- input parsing -------------------------------------------------------------------------


def parse_case_number(text: str) -> str:
    case_number = text.strip().upper()
    if not re.fullmatch(CASE_NUMBER_PATTERN, case_number):
        # The input is not echoed: a handler may paste an identity number here by mistake.
        fail("not a case number (expected DSR-YYYY-NNNNNN)")
    return case_number


def parse_received(text: str | None, *, now: datetime) -> datetime:
    """A date (the Stockholm day of receipt) or an ISO instant with a time zone."""
    if text is None:
        return now
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            received = datetime.combine(date.fromisoformat(text.strip()), time(), STOCKHOLM)
        else:
            received = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(
            f"received: not a date or an instant: {text[:40]!r} (e.g. 2026-03-05 or "
            "2026-03-05T14:30:00+01:00)"
        )
    if received.tzinfo is None:
        fail("received: an instant needs a time zone, e.g. 2026-03-05T14:30:00+01:00")
    if received > now:
        fail("received: the request cannot be received in the future")
    if received < now - OLDEST_RECEIPT:
        fail("received: more than two years ago; check the date")
    return received


def parse_subject(text: str) -> str:
    try:
        return parse_subject_id(text)
    except ValueError as error:
        fail(str(error))


# --- talking to Temporal ---------------------------------------------------------------------


async def client_for(settings: Settings) -> Client:
    try:
        return await connect(settings)
    except ConnectionSettingsError as error:
        fail(str(error))
    except RuntimeError as error:
        fail(
            f"cannot reach Temporal at {settings.temporal_address} ({error}); "
            "is the stack up (make run)?"
        )


async def act(case_number: str, update: str, action: BaseModel) -> ActionResult:
    client = await client_for(get_settings())
    handle = await case_handle(client, case_number)
    return await run_update(handle, case_number, update, action, ActionResult)


def emit(as_json: bool, payload: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        human()


def print_action(result: ActionResult, as_json: bool, what: str) -> None:
    emit(
        as_json,
        result.model_dump(mode="json"),
        lambda: console.print(f"{result.case_number}: {what}; now [bold]{result.state}[/]"),
    )


# --- commands ------------------------------------------------------------------------------


SubjectOption = Annotated[
    str, typer.Option("--subject", help="Personnummer or samordningsnummer (10 or 12 digits).")
]
ReceivedOption = Annotated[
    str | None,
    typer.Option("--received", help="Date (2026-03-05) or instant with zone; default now."),
]
ChannelOption = Annotated[Channel, typer.Option("--channel", help="How the request came in.")]
VerifiedByOption = Annotated[
    IdentityMethod | None,
    typer.Option("--verified-by", help="bankid: signed with BankID in the e-service."),
]
EidOrderOption = Annotated[
    str | None, typer.Option("--eid-order", help="The e-ID order reference of the signature.")
]
AssignOption = Annotated[str | None, typer.Option("--handler", help="Assign to this handler.")]
AnswerReceivedOption = Annotated[
    str | None,
    typer.Option("--received", help="The day the answer arrived (YYYY-MM-DD); default today."),
]
KIND_TITLES = {
    Kind.ACCESS: "Access request",
    Kind.RECTIFICATION: "Rectification request",
    Kind.RESTRICTION: "Restriction request",
    Kind.OBJECTION: "Objection to direct marketing",
    Kind.ERASURE: "Erasure request",
    Kind.PORTABILITY: "Portability request",
    Kind.PUBLIC_ACCESS: "Public-access request",
}


def assignable(settings: Settings, handler: str | None) -> str | None:
    """A new case is assigned only to a handler in the staff roster as it stands today."""
    if handler is None:
        return None
    handler = parse_handler(handler)  # first: a wrong id is never echoed
    try:
        roster = load_roster(settings.roster)
        delegations = load_delegations(settings.delegation_register)
    except (RosterError, DelegationError) as error:
        fail(f"the staff roster cannot be read: {error}")
    staff = roster.roles_on(delegations, datetime.now(STOCKHOLM).date())
    why = refusal(staff, handler, "take_case")
    if why is not None:
        fail(f"--handler: {why}")
    # As the roster spells it: "Anna" and "anna" are one handler, in one list of cases.
    return next(who for who in roster.staff if who.casefold() == handler.casefold())


async def submit_request(
    kind: Kind,
    *,
    subject: str,
    received: str | None,
    channel: Channel,
    verified_by: IdentityMethod | None,
    eid_order: str | None,
    handler: str | None,
    as_json: bool,
    details: RequestDetails | None = None,
) -> None:
    """Check everything, then start intake and wait for the case number."""
    settings = get_settings()
    subject_id = parse_subject(subject)
    received_at = parse_received(received, now=datetime.now(UTC))
    if verified_by not in (None, IdentityMethod.BANKID):
        fail("--verified-by: only bankid verifies at intake; use verify-identity for the others")
    sign_on_the_spot = verified_by is IdentityMethod.BANKID and eid_order is None
    if sign_on_the_spot and settings.eid_provider != "fake":
        fail("--verified-by bankid needs --eid-order")
    request = SubmitRequestInput(
        kind=kind,
        subject_id=subject_id,
        received_at=received_at,
        channel=channel,
        verified_by=verified_by,
        eid_order_ref=eid_order,
        assignee=assignable(settings, handler),
        details=details or RequestDetails(),
    )
    client = await client_for(settings)
    if sign_on_the_spot:
        # The demo's e-ID provider: the person signs in the e-service as the request is made.
        # Only now, once the input is valid and Temporal reachable, so a refusal leaves nothing.
        signed = FakeEidProvider(settings.eid_dir).sign(subject_id)
        request = request.model_copy(update={"eid_order_ref": signed})
    await register_request(client, settings, request, as_json)


async def register_request(
    client: Client, settings: Settings, request: SubmitRequestInput, as_json: bool
) -> None:
    """Start intake for a checked request, wait for its case number and print it."""
    result = await register(client, settings, request)
    payload = result.model_dump(mode="json")
    payload["ui"] = (
        f"{settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows/{result.case_number}"
    )

    def human() -> None:
        verb = "already open as" if result.existing else "registered as"
        # A public-access request is decided without delay (skyndsamt), not within a month.
        due = "decide by" if request.kind is Kind.PUBLIC_ACCESS else "deadline"
        console.print(
            f"{KIND_TITLES[request.kind]} {verb} [bold]{result.case_number}[/], "
            f"{due} {result.deadline}"
        )

    emit(as_json, payload, human)


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

    async def submit_kind(
        subject: SubjectOption,
        received: ReceivedOption = None,
        channel: ChannelOption = Channel.E_SERVICE,
        verified_by: VerifiedByOption = None,
        eid_order: EidOrderOption = None,
        handler: AssignOption = None,
        deliver_elsewhere: DeliverElsewhereOption = False,
        as_json: JsonOption = False,
    ) -> None:
        if deliver_elsewhere and kind not in (Kind.ACCESS, Kind.PORTABILITY):
            fail("--deliver-elsewhere: only an access or portability answer is delivered")
        await submit_request(
            kind,
            subject=subject,
            received=received,
            channel=channel,
            verified_by=verified_by,
            eid_order=eid_order,
            handler=handler,
            as_json=as_json,
            details=RequestDetails(deliver_elsewhere=deliver_elsewhere),
        )

    submit_kind.__doc__ = summary
    submit_app.command(kind.value)(command(submit_kind))


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


@submit_app.command("rectification")
@command
async def submit_rectification(
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
    verified_by: VerifiedByOption = None,
    eid_order: EidOrderOption = None,
    handler: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct or complete personal data in every system that holds it (GDPR Art. 16)."""
    changes = [parse_change(text, evidence) for text in change]
    if len({c.field for c in changes}) != len(changes):
        fail("--change: each field at most once")
    await submit_request(
        Kind.RECTIFICATION,
        subject=subject,
        received=received,
        channel=channel,
        verified_by=verified_by,
        eid_order=eid_order,
        handler=handler,
        as_json=as_json,
        details=RequestDetails(changes=changes, restrict_while_checking=restrict),
    )


@submit_app.command("restriction")
@command
async def submit_restriction(
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
    verified_by: VerifiedByOption = None,
    eid_order: EidOrderOption = None,
    handler: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restrict processing in every system until a handler lifts it (GDPR Art. 18).

    A request that names no ground is not assumed to be one: the subject is asked which, and
    a handler records the answer with `record-restriction-ground`."""
    await submit_request(
        Kind.RESTRICTION,
        subject=subject,
        received=received,
        channel=channel,
        verified_by=verified_by,
        eid_order=eid_order,
        handler=handler,
        as_json=as_json,
        details=RequestDetails(restriction_ground=ground),
    )


@submit_app.command("objection")
@command
async def submit_objection(
    subject: SubjectOption,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    handler: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Object to direct marketing: applied at once, never refused (GDPR Art. 21(2)-(3))."""
    await submit_request(
        Kind.OBJECTION,
        subject=subject,
        received=received,
        channel=channel,
        verified_by=None,
        eid_order=None,
        handler=handler,
        as_json=as_json,
    )


def parse_change(text: str, evidence: str | None) -> FieldChange:
    name, separator, value = text.partition("=")
    if not separator:
        fail("--change: write FIELD=NEW VALUE, e.g. street=Storgatan 1")
    try:
        field = RectifiableField(name.strip())
    except ValueError:
        fail(f"--change: unknown field; use one of {', '.join(f.value for f in RectifiableField)}")
    try:
        normalised = validate_rectification(field.value, value)
    except ValueError as error:
        fail(f"--change: {error}")
    return FieldChange(field=field, new_value=normalised, evidence=evidence)


@app.command("verify-identity")
@command
async def verify_identity(
    case: CaseArgument,
    method: Annotated[IdentityMethod, typer.Option("--method")],
    handler: HandlerOption,
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
    action = VerifyIdentityInput(
        method=method, handler=handler, supplied_on=parse_past_day(supplied, "--supplied")
    )
    result = await act(parse_case_number(case), "verify_identity", action)
    print_action(result, as_json, f"identity verified ({method.value})")


@app.command("close-unverified")
@command
async def close_unverified(
    case: CaseArgument,
    handler: HandlerOption,
    reason: Annotated[str, typer.Option("--reason", help="Why identity could not be verified.")],
    as_json: JsonOption = False,
) -> None:
    """Close a case whose identity could not be verified; the subject gets a notice."""
    action = CloseUnverifiedInput(handler=handler, reason=reason)
    result = await act(parse_case_number(case), "close_unverified", action)
    print_action(result, as_json, "closed as unverified")


@app.command("approve")
@command
async def approve(case: CaseArgument, handler: HandlerOption, as_json: JsonOption = False) -> None:
    """Approve the release of the reviewed extract; it is delivered at once."""
    result = await act(
        parse_case_number(case), "approve_release", ApproveReleaseInput(handler=handler)
    )
    print_action(result, as_json, "release approved")


@app.command("request-changes")
@command
async def request_changes(
    case: CaseArgument,
    handler: HandlerOption,
    reason: Annotated[str, typer.Option("--reason")],
    as_json: JsonOption = False,
) -> None:
    """Send the extract back: collect and build again, then review again."""
    result = await act(
        parse_case_number(case),
        "request_changes",
        RequestChangesInput(handler=handler, reason=reason),
    )
    print_action(result, as_json, "changes requested")


@app.command("record-manual-delivery")
@command
async def record_manual_delivery(
    case: CaseArgument,
    handler: HandlerOption,
    note: Annotated[str, typer.Option("--note", help="How it was handed over.")],
    as_json: JsonOption = False,
) -> None:
    """Record that an answer was handed over manually.

    A protected identity's answer, or a public-access request's without a contact."""
    result = await act(
        parse_case_number(case),
        "record_manual_delivery",
        RecordManualDeliveryInput(handler=handler, note=note),
    )
    print_action(result, as_json, "manual delivery recorded")


@app.command("decide-rectification")
@command
async def decide_rectification(
    case: CaseArgument,
    decision: Annotated[RectificationDecision, typer.Option("--decision")],
    handler: HandlerOption,
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
    action = DecideRectificationInput(
        handler=handler, decision=decision, accepted_fields=accept or [], reason=reason
    )
    result = await act(parse_case_number(case), "decide_rectification", action)
    print_action(result, as_json, f"rectification decided ({decision.value})")


@app.command("record-restriction-ground")
@command
async def record_restriction_ground(
    case: CaseArgument,
    ground: Annotated[
        RestrictionGround, typer.Option("--ground", help="a, b, c or d (Art. 18(1)).")
    ],
    handler: HandlerOption,
    received: AnswerReceivedOption = None,
    as_json: JsonOption = False,
) -> None:
    """The subject has said on which ground of Art. 18(1) processing is to be restricted; the
    restriction is applied. The clock's pause ends the day the answer arrived."""
    action = RecordRestrictionGroundInput(
        handler=handler, ground=ground, received_on=parse_past_day(received, "--received")
    )
    result = await act(parse_case_number(case), "record_restriction_ground", action)
    print_action(result, as_json, f"ground {ground.value} recorded; restricting")


@app.command("lift-restriction")
@command
async def lift_restriction(
    case: CaseArgument,
    handler: HandlerOption,
    reason: Annotated[str, typer.Option("--reason", help="Why the restriction ends.")],
    as_json: JsonOption = False,
) -> None:
    """Lift a restriction: the subject is told first, then the flags are removed."""
    action = LiftRestrictionInput(handler=handler, reason=reason)
    result = await act(parse_case_number(case), "lift_restriction", action)
    print_action(result, as_json, "restriction being lifted")


@app.command("prepare-erasure-plan")
@command
async def prepare_erasure_plan(
    case: CaseArgument, handler: HandlerOption, as_json: JsonOption = False
) -> None:
    """Confirm the erasure plan (see `status`); a second person must then approve it."""
    action = PrepareErasurePlanInput(handler=handler)
    result = await act(parse_case_number(case), "prepare_erasure_plan", action)
    print_action(result, as_json, "erasure plan prepared")


@app.command("approve-erasure-plan")
@command
async def approve_erasure_plan(
    case: CaseArgument, handler: HandlerOption, as_json: JsonOption = False
) -> None:
    """Approve a prepared erasure plan (not the one who prepared it); it is checked against the
    systems and executed at once, or made again if it is outdated."""
    action = ApproveErasurePlanInput(handler=handler)
    result = await act(parse_case_number(case), "approve_erasure_plan", action)
    outdated = result.state in (CaseState.PLANNING, CaseState.AWAITING_DECISION)
    print_action(
        result,
        as_json,
        "the plan was outdated and is made again (see status); prepare and approve it again"
        if outdated
        else "erasure plan approved and being executed",
    )


@app.command("reject-erasure-plan")
@command
async def reject_erasure_plan(
    case: CaseArgument,
    handler: HandlerOption,
    reason: Annotated[str, typer.Option("--reason", help="What is wrong with the plan.")],
    as_json: JsonOption = False,
) -> None:
    """Send a prepared erasure plan back: it is planned again, then prepared and approved again."""
    action = RejectErasurePlanInput(handler=handler, reason=reason)
    result = await act(parse_case_number(case), "reject_erasure_plan", action)
    print_action(result, as_json, "erasure plan sent back")


@app.command("refuse")
@command
async def refuse(
    case: CaseArgument,
    handler: HandlerOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is manifestly unfounded.")],
    as_json: JsonOption = False,
) -> None:
    """Refuse a manifestly unfounded or excessive request (Art. 12(5)); the DPO is told."""
    result = await act(
        parse_case_number(case), "refuse", RefuseInput(handler=handler, reason=reason)
    )
    print_action(result, as_json, "refused")


@app.command("withdraw")
@command
async def withdraw(
    case: CaseArgument,
    handler: HandlerOption,
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
    action = WithdrawInput(
        handler=handler, received_on=parse_past_day(received, "--received"), note=note
    )
    case_number = parse_case_number(case)
    result = await act(case_number, "withdraw", action)
    after = await fetch_status(await client_for(get_settings()), case_number)
    what = (
        "withdrawn; the confirmation is sent"
        if after.outcome is Outcome.WITHDRAWN
        else f"answered before the withdrawal took effect ({after.outcome})"
    )
    print_action(result, as_json, what)


@app.command("retention")
@command
async def retention(case: CaseArgument, as_json: JsonOption = False) -> None:
    """What an erasure case still keeps and when its follow-up looks again."""
    case_number = parse_case_number(case)
    client = await client_for(get_settings())
    handle = await retention_handle(client, case_number)
    progress: FollowUpStatus = await handle.query(
        "progress", result_type=FollowUpStatus, rpc_timeout=QUERY_TIMEOUT
    )

    def human() -> None:
        console.print(f"[bold]{progress.case_number}[/] retention follow-up, {progress.runs} runs")
        console.print(f"next run: {progress.next_due or 'none planned'}")
        waiting = {
            "running_contract": "a contract that still runs (looked at again monthly)",
            "archive": "the archive's disposal decision (record-disposal-decision)",
        }
        for rule in progress.waiting:
            console.print(f"waiting for: {waiting.get(rule, rule)}")
        if progress.disposal_reference:
            console.print(f"disposal decision: {progress.disposal_reference}")
        for table, rows in sorted(progress.erased.items()):
            console.print(f"erased so far: {table}: {rows}")

    emit(as_json, progress.model_dump(mode="json"), human)


@app.command("record-disposal-decision")
@command
async def record_disposal_decision(
    case: CaseArgument,
    handler: HandlerOption,
    reference: Annotated[
        str,
        typer.Option(
            "--reference", help="The disposal decision (gallringsbeslut), e.g. its diary number."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """The archive's disposal decision lets an erasure case's archived rows go now."""
    action = RecordDisposalDecisionInput(handler=handler, reference=reference)
    case_number = parse_case_number(case)
    handle = await retention_handle(await client_for(get_settings()), case_number)
    progress = await run_update(
        handle, case_number, "record_disposal_decision", action, FollowUpStatus
    )
    erased = sum(progress.erased.values())
    emit(
        as_json,
        progress.model_dump(mode="json"),
        lambda: console.print(
            f"{progress.case_number}: disposal decision recorded; {erased} rows erased in all"
        ),
    )


@app.command("status")
@command
async def status(case: CaseArgument, as_json: JsonOption = False) -> None:
    """State, deadline, days left, steps done, where the extract is, and linked cases.

    For a public-access request also what was asked, the documents, the fee, the formal
    decision and any appeal."""
    settings = get_settings()
    case_number = parse_case_number(case)
    client = await client_for(settings)
    current = await fetch_status(client, case_number)
    today = datetime.now(STOCKHOLM).date()
    payload = current.model_dump(mode="json")
    payload["days_left"] = (current.deadline - today).days
    if current.extract is not None:
        payload["extract_path"] = str(settings.extract_dir / current.extract.html_ref)
        payload["extract_json_path"] = str(settings.extract_dir / current.extract.json_ref)

    def human() -> None:
        table = Table(show_header=False, box=None)
        table.add_row("case", current.case_number)
        table.add_row("kind", current.kind)
        table.add_row("state", f"[bold]{current.state}[/]")
        table.add_row("received", current.received_at.astimezone(STOCKHOLM).isoformat())
        table.add_row("deadline", f"{current.deadline} ({payload['days_left']} days left)")
        if current.original_deadline and current.original_deadline != current.deadline:
            why = "extended" if current.extension_reason else "moved by pauses"
            table.add_row("", f"originally {current.original_deadline}; {why}")
        table.add_row("escalation", current.escalation)
        if current.next_escalation:
            at = current.next_escalation.at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
            table.add_row("next step", f"{current.next_escalation.step} at {at}")
        for pause in current.pauses:
            start = pause.started_at.astimezone(STOCKHOLM).date()
            end = pause.ended_at.astimezone(STOCKHOLM).date() if pause.ended_at else "open"
            counts = "" if pause.counts else " (asked late: the clock ran on)"
            table.add_row("paused", f"{pause.reason}: {start} to {end}{counts}")
        if current.awaiting_clarification:
            table.add_row("waiting for", "the subject's clarification")
        for wait in current.waiting_for_systems:
            since = wait.since.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
            told = (
                f"; assignee told {wait.told_at.astimezone(STOCKHOLM).strftime('%H:%M')}"
                if wait.told_at
                else ""
            )
            table.add_row(
                "waiting for", f"system {wait.system} ({wait.step}) since {since}, retrying{told}"
            )
        table.add_row("assignee", current.assignee or "-")
        if current.identity:
            table.add_row(
                "identity", f"{current.identity.method} by {current.identity.verified_by}"
            )
        elif current.identity_basis:
            where = {
                "digital_mailbox": "the answer goes to the subject's own digital mailbox",
                "registered_address": "the answer goes by letter to the population-register "
                "address",
            }[current.identity_basis.value]
            table.add_row("identity", f"no proof needed: {where} (Art. 12(6))")
        if current.extract:
            table.add_row("extract", f"sealed; read it with `show-extract {current.case_number}`")
        if current.delivery:
            table.add_row("delivered", f"{current.delivery.method}: {current.delivery.location}")
        if current.outcome:
            table.add_row("outcome", current.outcome)
        if current.applied:
            for what, tables in current.applied.items():
                table.add_row("applied", f"{what}: {tables}")
        if current.recipients_notified:
            table.add_row("recipients told", ", ".join(current.recipients_notified))
        if current.public:
            add_public_rows(table, current.public)
        if current.linked:
            table.add_row("linked", ", ".join(current.linked))
        console.print(table)
        if current.erasure_plan:
            plan = Table("system", "table", "action", "rows", "kept until", "reason")
            for item in current.erasure_plan:
                until = "" if item.action != "keep" else str(item.keep_until or "tills vidare")
                plan.add_row(
                    item.system, item.label, item.action, str(item.rows), until, item.reason
                )
            console.print(plan)
        steps = Table("when", "step", "by", "state", "why")
        for step in current.steps:
            steps.add_row(
                step.at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M"),
                step.action,
                step.actor,
                step.state,
                step.detail or "",
            )
        console.print(steps)

    emit(as_json, payload, human)


def add_public_rows(table: Table, public: PublicAccessStatus) -> None:
    """What a public-access case adds to `status`: the request, the documents, the decision."""
    table.add_row("sender", escape(public.sender))
    table.add_row("description", escape(public.description))
    table.add_row("contact", "given: copies are sent" if public.contact else "none: hand over")
    more = " (more matched)" if public.truncated else ""
    table.add_row(
        "documents",
        f"{len(public.candidates)} found{more}, {len(public.confirmed)} confirmed, "
        f"{len(public.reviews)} reviewed (see `documents`)",
    )
    if public.pages is not None:
        table.add_row("copies", f"{public.pages} pages, fee {public.fee_sek} kr")
    if public.formal_decision_by:
        received = public.decision_received_on or "-"
        table.add_row("formal decision", f"by {public.formal_decision_by}, received {received}")
    if public.receipt_pending:
        table.add_row(
            "appeal period",
            "not begun: the decision went by letter; record its receipt "
            "(record-decision-receipt), until then no appeal is late",
        )
    if public.appeal_window_end:
        table.add_row("appeal period", f"ends {public.appeal_window_end}")
    if public.appeal:
        appeal = public.appeal
        fate = "in time: forwarded to the court" if appeal.timely else "too late: dismissed"
        if appeal.basis == "reached_court_in_time":
            fate = "reached the court in time: forwarded (FL 45 §)"
        elif appeal.basis == "receipt_not_shown":
            fate = "receipt of the decision not shown: not late, forwarded (FL 44 §)"
        table.add_row(
            "appeal", f"received {appeal.received_on}, {fate} (by {appeal.registered_by})"
        )


_PERIOD = re.compile(r"([1-9][0-9]{0,2})([dw])")


def parse_period(text: str) -> timedelta:
    """7d, 2w: a period for --due-within."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        fail("--due-within: write a number of days or weeks, e.g. 7d or 2w")
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(days=count * (7 if unit == "w" else 1))


def parse_handler(text: str) -> str:
    try:
        return TypeAdapter(HandlerId).validate_python(text)
    except ValidationError as error:
        fail(f"handler: {error.errors()[0]['msg']}")


@app.command("extend")
@command
async def extend(
    case: CaseArgument,
    handler: HandlerOption,
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
    action = ExtendInput(handler=handler, reason=reason, told_outside=told_outside)
    result = await act(parse_case_number(case), "extend", action)
    print_action(result, as_json, "deadline extended by two months")


@app.command("ask-clarification")
@command
async def ask_clarification(
    case: CaseArgument,
    handler: HandlerOption,
    question: Annotated[
        str, typer.Option("--question", help="What the subject needs to clarify (sent to them).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Ask the subject to clarify the request; the clock stands still until the answer is
    recorded, if asked within 3 working days of receipt."""
    action = AskClarificationInput(handler=handler, question=question)
    result = await act(parse_case_number(case), "ask_clarification", action)
    print_action(result, as_json, "question sent to the subject")


@app.command("record-clarification")
@command
async def record_clarification(
    case: CaseArgument,
    handler: HandlerOption,
    received: AnswerReceivedOption = None,
    as_json: JsonOption = False,
) -> None:
    """The subject has clarified: the clock runs again, the deadline later by the days paused.

    The pause ends the day the answer arrived (--received), not the day it is recorded."""
    action = RecordClarificationInput(
        handler=handler, received_on=parse_past_day(received, "--received")
    )
    result = await act(parse_case_number(case), "record_clarification", action)
    print_action(result, as_json, "clarification recorded")


@app.command("reassign")
@command
async def reassign(
    case: CaseArgument,
    handler: HandlerOption,
    to: Annotated[str, typer.Option("--to", help="The handler who takes over the case.")],
    as_json: JsonOption = False,
) -> None:
    """Give the case to another handler; reminders go to them from now on."""
    result = await act(parse_case_number(case), "reassign", ReassignInput(handler=handler, to=to))
    print_action(result, as_json, f"assigned to {to}")


@app.command("list")
@command
async def list_cases(
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
    settings = get_settings()
    query = list_query(
        kind=kind,
        open_only=open_only,
        overdue=overdue,
        due_within=parse_period(due_within) if due_within is not None else None,
        assignee=parse_handler(assignee) if assignee is not None else None,
    )
    rows = await list_cases_in(await client_for(settings), query)

    def human() -> None:
        table = Table()
        for column in ("case", "kind", "state", "deadline", "assignee", "escalation"):
            table.add_column(column, no_wrap=True)
        for row in rows:
            table.add_row(
                *(
                    str(row[k] or "-")
                    for k in ("case_number", "kind", "state", "deadline", "assignee", "escalation")
                )
            )
        console.print(table)

    emit(as_json, {"cases": rows}, human)


# --- public access (offentlighetsprincipen) --------------------------------------------------


def _type_help() -> str:
    try:
        types = ", ".join(load_archive().document_types)
    except ArchiveError:
        types = "see systems/archive/documents.yaml"
    return f"A document type, repeatable: {types}."


TypeOption = Annotated[list[str] | None, typer.Option("--type", help=_type_help())]
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
DocumentArgument = Annotated[str, typer.Argument(help="Document id, as `documents` lists it.")]
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_GROUND = re.compile(r"(?:OSL\s*)?(\d{1,2}\s*:\s*\d{1,3})", re.IGNORECASE)
_TYPE_NAME = re.compile(r"[a-z_]{1,40}")


def parse_past_day(text: str | None, option: str) -> date | None:
    """An optional day that has come (Stockholm): when something reached the company."""
    if text is None:
        return None
    day = parse_day(text, option)
    if day > datetime.now(STOCKHOLM).date():
        fail(f"{option}: that day has not come yet")
    return day


def parse_day(text: str, option: str) -> date:
    """A calendar day, YYYY-MM-DD. The input is not echoed (an identity number typed into the
    wrong option must not be repeated)."""
    try:
        if not _DAY.fullmatch(text.strip()):
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: not a date; write YYYY-MM-DD, e.g. 2024-03-31")


def parse_types(texts: list[str]) -> list[str]:
    try:
        known = load_archive().document_types
    except ArchiveError as error:
        fail(f"the document archive's declaration cannot be read: {error}")
    chosen: list[str] = []
    for text in texts:
        name = text.strip()
        if name not in known:
            what = f" {name!r}" if _TYPE_NAME.fullmatch(name) else ""
            fail(f"--type: unknown document type{what}; use one of {', '.join(known)}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def build_query(
    types: list[str] | None,
    date_from: str | None,
    date_to: str | None,
    party: str | None,
    text: str | None,
) -> DocumentQuery:
    """The search options as the query the archive is searched with."""
    chosen = parse_types(types or [])
    start = parse_day(date_from, "--from") if date_from is not None else None
    end = parse_day(date_to, "--to") if date_to is not None else None
    if start and end and start > end:
        fail("--from is after --to: the date range ends before it starts")
    if not (chosen or start or end or party is not None or text is not None):
        fail("say what is asked for: --type, --from/--to, --party or --text")
    return DocumentQuery(types=chosen, date_from=start, date_to=end, party=party, text=text)


def build_contact(email: str | None, address: list[str], name: str | None) -> Contact | None:
    """Where copies are sent: only if the requester gave an address (never required)."""
    if email is None and not address:
        if name is not None:
            fail("--contact-name: give --email or --address too; a name alone is no contact")
        return None
    return Contact(name=name, email=email, postal_address=address)


def parse_document_id(text: str, option: str = "document") -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,8}", text.strip()):
        fail(f"{option}: a document id is a number, as `documents` lists it")
    return int(text.strip())


def parse_ground(text: str, option: str) -> SecrecyGround:
    """A ground in OSL: `OSL 21:3` or just `21:3`."""
    match = _GROUND.fullmatch(text.strip())
    value = "OSL " + re.sub(r"\s", "", match.group(1)) if match else ""
    try:
        return SecrecyGround(value)
    except ValueError:
        fail(f"{option}: unknown ground; use one of {', '.join(g.value for g in SecrecyGround)}")


def parse_mask(text: str) -> Mask:
    """TEXT=GROUND, split on the last `=` (the part to mask may contain one itself). The part
    is never echoed: it is the secret."""
    part, separator, ground = text.rpartition("=")
    if not separator or not part.strip():
        fail("--mask: write TEXT=GROUND, e.g. 'Storgatan 1, Västerås=OSL 21:3'")
    return Mask(text=part.strip(), ground=parse_ground(ground, "--mask"))


async def public_case(client: Client, case_number: str, what: str) -> CaseStatus:
    """The status of a public-access case; any other kind is refused with a clear line."""
    current = await fetch_status(client, case_number)
    if current.public is None:
        fail(
            f"case {case_number} is not a public-access request ({current.kind.value}); "
            f"only those {what}"
        )
    return current


async def act_public(
    case_number: str, update: str, action: BaseModel, what: str
) -> tuple[CaseStatus, ActionResult]:
    """An update on a public-access case, with its status just before it."""
    client = await client_for(get_settings())
    current = await public_case(client, case_number, what)
    handle = client.get_workflow_handle(case_number)
    return current, await run_update(handle, case_number, update, action, ActionResult)


@app.command("request-documents")
@command
async def request_documents(
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
    handler: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a request for official documents (offentlighetsprincipen, TF 2 kap.).

    Anyone may ask, anonymously, and need not say why: no identity number is taken. Without
    --email or --address the answer is handed over manually. The archive is searched at once
    with the search options (at least one): see `documents`."""
    settings = get_settings()
    query = build_query(types, date_from, date_to, party, text)
    contact = build_contact(email, address or [], contact_name)
    public = PublicRequest(sender=sender, description=description, query=query, contact=contact)
    request = SubmitRequestInput(
        kind=Kind.PUBLIC_ACCESS,
        received_at=parse_received(received, now=datetime.now(UTC)),
        channel=channel,
        assignee=assignable(settings, handler),
        public=public,
    )
    await register_request(await client_for(settings), settings, request, as_json)


@app.command("documents")
@command
async def documents(case: CaseArgument, as_json: JsonOption = False) -> None:
    """The documents found for a public-access request, confirmed and reviewed.

    Each document's id, type, date, title and pages, whether it is confirmed, and its review
    decision and grounds; pages and fee once the copies are made."""
    case_number = parse_case_number(case)
    current = await public_case(
        await client_for(get_settings()), case_number, "have documents to list"
    )
    public = current.public
    assert public is not None

    def human() -> None:
        console.print(
            f"[bold]{current.case_number}[/] {current.state}: {escape(public.description)}"
        )
        if not public.candidates:
            console.print(
                "searching the archive; look again in a moment"
                if current.state in (CaseState.REGISTERED, CaseState.LOCATING)
                else "no documents found; search with other terms (`search-again`)"
            )
            return
        confirmed = set(public.confirmed)
        reviews = {review.document_id: review for review in public.reviews}
        # Narrow enough for 80 columns: the title wraps, with the type under it.
        table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold")
        table.add_column("id", justify="right", no_wrap=True)
        table.add_column("date", no_wrap=True)
        table.add_column("pages", justify="right", no_wrap=True)
        table.add_column("confirmed", no_wrap=True)
        table.add_column("review", max_width=24)
        table.add_column("document", ratio=1)
        for document in public.candidates:
            review = reviews.get(document.document_id)
            if review is not None:
                grounds = ", ".join(g.value for g in review.grounds)
                decision = f"{review.decision.value}: {grounds}" if grounds else "release"
            else:
                decision = "to review" if document.document_id in confirmed else ""
            title = Text(document.title)
            title.append(f"\n{document.type}", style="dim")
            table.add_row(
                str(document.document_id),
                document.date.isoformat(),
                str(document.pages),
                "yes" if document.document_id in confirmed else "",
                decision,
                title,
            )
        console.print(table)
        more = " (more matched: narrow the search)" if public.truncated else ""
        console.print(
            f"{len(public.candidates)} found{more}, {len(public.confirmed)} confirmed, "
            f"{len(public.reviews)} reviewed"
        )
        if public.pages is not None:
            console.print(f"copies: {public.pages} pages, fee {public.fee_sek} kr")

    emit(as_json, public.model_dump(mode="json"), human)


@app.command("show-document")
@command
async def show_document(document: DocumentArgument, as_json: JsonOption = False) -> None:
    """A document's full text from the archive, to review it for secrecy."""
    document_id = parse_document_id(document)
    settings = get_settings()
    try:
        decl = load_archive()
    except ArchiveError as error:
        fail(f"the document archive's declaration cannot be read: {error}")
    url = make_url(settings.archive_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        # Opening a missing SQLite file would create an empty one.
        fail("the document archive is not there (DSR_DOCUMENT_ARCHIVE_URL); is it seeded?")
    engine = create_engine(settings.archive_url, own_database=False)
    try:
        text = await document_text(engine, decl, document_id)
    except LookupError:
        fail(f"document {document_id} is not in the archive")
    except SQLAlchemyError as error:
        fail(f"the document archive cannot be read ({type(error).__name__})")
    finally:
        await engine.dispose()
    emit(
        as_json,
        {"document_id": document_id, "text": text},
        lambda: console.print(text, markup=False, highlight=False),
    )


@app.command("search-again")
@command
async def search_again(
    case: CaseArgument,
    handler: HandlerOption,
    types: TypeOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    party: PartyOption = None,
    text: TextOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the archive again with other terms, before the documents are confirmed.

    The new search replaces the list of documents found (see `documents`)."""
    action = SearchAgainInput(
        handler=handler, query=build_query(types, date_from, date_to, party, text)
    )
    _, result = await act_public(
        parse_case_number(case), "search_again", action, "search the archive"
    )
    print_action(result, as_json, "searching again; see `documents`")


@app.command("confirm-documents")
@command
async def confirm_documents(
    case: CaseArgument,
    handler: HandlerOption,
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
    client = await client_for(get_settings())
    current = await public_case(client, case_number, "have documents to confirm")
    if every:
        # Every document the search found, as listed now.
        assert current.public is not None
        if current.state is not CaseState.AWAITING_CONFIRMATION:
            fail(
                f"case {case_number} is {current.state.value}; you can confirm the documents "
                "only while it is awaiting_confirmation"
            )
        ids = [c.document_id for c in current.public.candidates]
        if not ids:
            fail(f"case {case_number}: no documents were found; search again (`search-again`)")
    action = ConfirmDocumentsInput(handler=handler, document_ids=ids)
    handle = client.get_workflow_handle(case_number)
    result = await run_update(handle, case_number, "confirm_documents", action, ActionResult)
    print_action(result, as_json, f"{len(ids)} documents confirmed for review")


@app.command("review-document")
@command
async def review_document(
    case: CaseArgument,
    document: DocumentArgument,
    handler: HandlerOption,
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
    document_id = parse_document_id(document)
    masks = [parse_mask(m) for m in mask or []]
    if withhold is not None:
        decision, ground = ReviewDecision.WITHHOLD, parse_ground(withhold, "--withhold")
    elif masks:
        decision, ground = ReviewDecision.MASK, None
    else:
        decision, ground = ReviewDecision.RELEASE, None
    action = ReviewDocumentInput(
        handler=handler, document_id=document_id, decision=decision, masks=masks, ground=ground
    )
    _, result = await act_public(
        parse_case_number(case), "review_document", action, "have documents to review"
    )
    print_action(result, as_json, f"document {document_id} reviewed ({decision.value})")


@app.command("preview-copies")
@command
async def preview_copies(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Show exactly what the requester will receive: the letter and every copy, with the
    masked parts removed, opened from the sealed store on the handler's screen.

    Then `approve CASE` sends them, or `review-document` changes a review (the copies are made
    again, to be looked at again)."""
    settings = get_settings()
    case_number = parse_case_number(case)
    current = await public_case(await client_for(settings), case_number, "have copies")
    public = current.public
    assert public is not None
    if public.letter_ref is None:
        fail(f"case {case_number}: no copies are prepared yet (every document is reviewed first)")
    store = ExtractStore(settings.extract_dir, settings.key_ring())
    try:
        files = {
            Path(ref).name: store.read_text(ref) for ref in [public.letter_ref, *public.copy_refs]
        }
    except FileNotFoundError:
        fail(f"case {case_number}: the copies are no longer kept (deleted after delivery)")
    except EncryptionKeyError as error:
        fail(str(error))

    def human() -> None:
        for name, text in files.items():
            console.rule(name)
            console.print(text, markup=False, highlight=False)

    emit(as_json, {"case_number": case_number, "state": current.state, "files": files}, human)


@app.command("request-formal-decision")
@command
async def request_formal_decision(
    case: CaseArgument, handler: HandlerOption, as_json: JsonOption = False
) -> None:
    """Record that the requester asks for a formal, appealable decision on what was refused.

    Someone with delegated authority must then make it (`decide`)."""
    _, result = await act_public(
        parse_case_number(case),
        "request_formal_decision",
        RequestFormalDecisionInput(handler=handler),
        "take formal decisions",
    )
    print_action(result, as_json, "formal decision requested")


@app.command("decide")
@command
async def decide(case: CaseArgument, handler: HandlerOption, as_json: JsonOption = False) -> None:
    """Make the formal decision on a public-access request (delegated authority only).

    Only a handler named in the delegation register may decide. The decision is sent with how
    to appeal, and the appeal period starts."""
    _, result = await act_public(
        parse_case_number(case),
        "make_formal_decision",
        FormalDecisionInput(handler=handler),
        "take formal decisions",
    )
    print_action(result, as_json, "formal decision made and sent")


@app.command("register-appeal")
@command
async def register_appeal(
    case: CaseArgument,
    handler: HandlerOption,
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
    if received_on > datetime.now(STOCKHOLM).date():
        fail("--received: the appeal cannot reach the company in the future")
    decision_on = parse_day(decision_received, "--decision-received") if decision_received else None
    if decision_on and decision_on > received_on:
        fail("--decision-received: after the appeal came in")
    action = RegisterAppealInput(
        handler=handler,
        received_on=received_on,
        decision_received_on=decision_on,
        court_received_on=parse_past_day(court_received, "--court-received"),
    )
    number = parse_case_number(case)
    _, result = await act_public(number, "register_appeal", action, "can be appealed")
    after = await fetch_status(await client_for(get_settings()), number)
    appeal = after.public.appeal if after.public else None
    if appeal is None:
        what = "appeal registered"
    elif appeal.timely:
        what = f"appeal in time (period ended {appeal.period_end}): forwarded to the court"
    else:
        what = f"appeal too late (period ended {appeal.period_end}): dismissed"
    print_action(result, as_json, what)


@app.command("record-decision-receipt")
@command
async def record_decision_receipt(
    case: CaseArgument,
    handler: HandlerOption,
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
    assert day is not None
    action = RecordDecisionReceiptInput(handler=handler, received_on=day, evidence=evidence)
    _, result = await act_public(
        parse_case_number(case), "record_decision_receipt", action, "have decisions"
    )
    print_action(result, as_json, f"decision received {day}; the appeal period runs from it")


@app.command("link")
@command
async def link(
    case: CaseArgument,
    other: Annotated[str, typer.Argument(help="The case to link it with.")],
    handler: HandlerOption,
    as_json: JsonOption = False,
) -> None:
    """Link two open cases handled together; each then names the other in `status`.

    E.g. a person's access request and their request for official documents."""
    first, second = parse_case_number(case), parse_case_number(other)
    if first == second:
        fail("a case cannot be linked with itself")
    actions = {
        first: LinkCaseInput(handler=handler, other=second),
        second: LinkCaseInput(handler=handler, other=first),
    }
    client = await client_for(get_settings())
    handles = {number: await open_case(client, number) for number in actions}
    results = {
        number: await run_update(handles[number], number, "link", action, ActionResult)
        for number, action in actions.items()
    }
    emit(
        as_json,
        {
            "linked": [first, second],
            "states": {number: result.state.value for number, result in results.items()},
        },
        lambda: console.print(f"{first} and {second} are linked"),
    )


async def open_case(client: Client, case_number: str) -> WorkflowHandle[Any, Any]:
    """The handle of a case still open (running and not closed), or one line why not."""
    handle = client.get_workflow_handle(case_number)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            fail(f"unknown case {case_number}")
        raise
    if description.status is not WorkflowExecutionStatus.RUNNING:
        fail(f"case {case_number} is closed")
    if (await fetch_status(client, case_number)).state is CaseState.CLOSED:
        fail(f"case {case_number} is closed")
    return handle


@app.command("show-extract")
@command
async def show_extract(
    case: CaseArgument,
    as_json_file: Annotated[
        bool, typer.Option("--json-file", help="The machine-readable JSON instead of the letter.")
    ] = False,
) -> None:
    """Print a case's extract for the review: the Swedish HTML letter, or its JSON.

    The extract store keeps it sealed; it is opened here, on the handler's screen only."""
    settings = get_settings()
    case_number = parse_case_number(case)
    current = await fetch_status(await client_for(settings), case_number)
    if current.extract is None:
        fail(f"case {case_number} has no extract (yet)")
    store = ExtractStore(settings.extract_dir, settings.key_ring())
    ref = current.extract.json_ref if as_json_file else current.extract.html_ref
    try:
        typer.echo(store.read_text(ref))
    except FileNotFoundError:
        fail(f"case {case_number}: the extract is no longer kept (deleted after delivery)")
    except EncryptionKeyError as error:
        fail(str(error))


# --- the audit trail ---------------------------------------------------------------------


@app.command("login")
@command
async def login() -> None:
    """Sign in to the case service (DSR_SERVICE_URL): open the page shown, enter the code,
    sign in with your own account. The sign-in is kept for you alone (mode 0600)."""
    service = signin.service_url()
    try:
        record = await asyncio.to_thread(
            signin.login, service, show=lambda line: typer.echo(line, err=False)
        )
        me = await asyncio.to_thread(whoami_at, service)
    except signin.SignInError as error:
        fail(str(error))
    roles = ", ".join(me["roles"]) or "no role"
    console.print(f"Signed in to {record['service']} as [bold]{me['login']}[/] ({roles})")


@app.command("logout")
@command
async def logout() -> None:
    """Sign out: the kept sign-in is revoked at the identity provider and removed."""
    service = signin.service_url()
    removed = await asyncio.to_thread(signin.logout, service)
    console.print(f"Signed out of {service}" if removed else f"Not signed in to {service}")


@app.command("whoami")
@command
async def whoami(as_json: JsonOption = False) -> None:
    """Who the case service takes you for, and your roles today."""
    service = signin.service_url()
    try:
        me = await asyncio.to_thread(whoami_at, service)
    except signin.SignInError as error:
        fail(str(error))
    emit(
        as_json, me, lambda: console.print(f"{me['login']} ({', '.join(me['roles']) or 'no role'})")
    )


def whoami_at(service: str) -> dict[str, Any]:
    token = signin.access_token(service)
    status, me = signin.request_json(
        "GET", f"{service}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    if status != 200:
        raise signin.SignInError(str(me.get("detail") or f"the case service answered {status}"))
    return dict(me)


@app.command("roster")
@command
async def roster(
    on: Annotated[
        str | None, typer.Option("--on", help="The day, YYYY-MM-DD; default today.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Who may act on cases, in which roles, on a day: the staff roster with the decision
    makers of the delegation register. Refuses files that do not fit together."""
    settings = get_settings()
    day = parse_day(on, "--on") if on is not None else datetime.now(STOCKHOLM).date()
    try:
        staff = load_roster(settings.roster)
        delegations = load_delegations(settings.delegation_register)
        staff.check(delegations)
    except (RosterError, DelegationError) as error:
        fail(str(error))
    roles = staff.roles_on(delegations, day)
    payload = {"on": day.isoformat(), "staff": {who: list(held) for who, held in roles.items()}}

    def human() -> None:
        table = Table(title=f"Staff roster on {day}")
        table.add_column("handler id")
        table.add_column("roles")
        table.add_column("may also")
        for who, held in roles.items():
            # Handler work is everyone's who has the role; shown are the actions beyond it.
            beyond = sorted(
                what
                for needed, what in ACTIONS.values()
                if Role.HANDLER not in needed and needed & set(held)
            )
            if Role.DPO in held:
                beyond = ["acts on no case (told of escalations and refusals)"]
            table.add_row(who, ", ".join(held), "; ".join(beyond))
        console.print(table)

    emit(as_json, payload, human)


db_app = typer.Typer(
    help="The case register's schema: migrate it before starting workers of a new version.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@command
async def db_upgrade(as_json: JsonOption = False) -> None:
    """Migrate the case register (DSR_REGISTER_URL) to this version's schema. Safe to run
    again; a register from before migrations is taken as their first revision."""
    engine = create_engine(get_settings().register_database_url)
    try:
        before, after = await schema.upgrade(engine)
    finally:
        await engine.dispose()
    payload = {"from": before.current, "to": after.current, "head": after.head}

    def human() -> None:
        if before.current == after.current:
            console.print(f"the case register is up to date (revision {after.current})")
        else:
            console.print(f"the case register migrated from {before.where} to {after.where}")

    emit(as_json, payload, human)


@db_app.command("current")
@command
async def db_current(as_json: JsonOption = False) -> None:
    """The register's schema revision and this version's; exits 1 when they differ."""
    engine = create_engine(get_settings().register_database_url)
    try:
        found = await schema.state(engine)
    finally:
        await engine.dispose()
    payload = {"current": found.current, "head": found.head, "up_to_date": found.up_to_date}

    def human() -> None:
        console.print(
            f"the case register: {found.where}; this version needs {found.head}: {found.verdict}"
        )

    emit(as_json, payload, human)
    if not found.up_to_date:
        raise typer.Exit(1)


audit_app = typer.Typer(
    help="The case's tamper-evident trail: verify its hash chain, export evidence.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")


async def workflow_transitions(case_number: str) -> int | None:
    """How many state transitions the case's workflow made (with registration), or None if
    it cannot be asked (no worker, or a case Temporal no longer keeps)."""
    try:
        client = await client_for(get_settings())
    except UserError:
        return None
    return await transitions(client, case_number)


@audit_app.command("verify")
@command
async def audit_verify(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Recompute the case's hash chain: an edited, removed or inserted trail row is found.

    Exits 1 when the chain is broken. The number of rows is also compared with the
    workflow's own count of state transitions, when the workflow can be asked."""
    case_number = parse_case_number(case)
    transitions = await workflow_transitions(case_number)
    engine = create_engine(get_settings().register_database_url)
    try:
        async with register_sessions(engine)() as session:
            if await session.get(Case, case_number) is None:
                fail(f"case {case_number} is not in the register")
            result = await verify_chain(
                session,
                case_number,
                chain_key(get_settings().subject_reference_secret),
                expected_transitions=transitions,
            )
    finally:
        await engine.dispose()
    payload = {**result.summary(), "compared_with_workflow": transitions is not None}

    def human() -> None:
        if result.intact:
            console.print(
                f"{case_number}: the trail is intact: {result.chained} rows chained"
                + (f", {result.unchained} from before the chain" if result.unchained else "")
                + f"; head {result.head[:16]}"
            )
        for problem in result.problems:
            errors.print(f"{case_number}: {problem}", markup=False, highlight=False)
        if transitions is None:
            errors.print(
                f"{case_number}: not compared with the workflow (it cannot be asked now): "
                "rows cut off the end would not show",
                markup=False,
                highlight=False,
            )

    emit(as_json, payload, human)
    if not result.intact:
        raise typer.Exit(1)


@audit_app.command("export")
@command
async def audit_export(
    case: CaseArgument,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Where to write the evidence; default var/audit/CASE.json."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the case's evidence as JSON: the register entry, every event (who, what, when),
    each link of the hash chain and its verification. No payload data."""
    settings = get_settings()
    case_number = parse_case_number(case)
    target = Path(out) if out else settings.var_dir / "audit" / f"{case_number}.json"
    engine = create_engine(settings.register_database_url)
    try:
        async with register_sessions(engine)() as session:
            try:
                evidence = await audit_evidence(
                    session, case_number, chain_key(settings.subject_reference_secret)
                )
            except LookupError as error:
                fail(str(error))
    finally:
        await engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(evidence, ensure_ascii=False, indent=2), encoding="utf-8")
    verification = evidence["verification"]
    emit(
        as_json,
        {"case_number": case_number, "path": str(target), **verification},
        lambda: console.print(
            f"{case_number}: evidence written to {target} ("
            + ("chain intact" if verification["intact"] else "CHAIN BROKEN")
            + ")"
        ),
    )


def main() -> None:
    try:
        app()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: the Temporal core's native threads can still hold a
    # callback then, and CPython aborts ("PyGILState_Release ... finalizing") after the command
    # has already done its work, turning a clean exit into a crash.
    os._exit(code)


if __name__ == "__main__":
    main()
