"""Registering a request through the API: a data-subject request (GDPR) or a request for
official documents, as the signed-in person, with its date of receipt checked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError

from contract.calendar import STOCKHOLM
from contract.intake import RequestDetails, SubmitRequestInput, SubmitRequestResult
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.roles import refusal
from contract.subject import parse_subject_id
from contract.vocabulary import Channel, Kind
from infra.config import Settings
from service import cases
from service.callers import HANDLER_ID, Staff, StaffMember, call, spelled, temporal
from service.problems import Problem, validation_detail
from systems.document_archive import ArchiveError, load_archive
from systems.fields import validate_rectification

router = APIRouter(prefix="/api/v1")

# A request registered late may carry an old date of receipt, but not an implausible one.
OLDEST_RECEIPT = timedelta(days=2 * 366)


# --- registering a request --------------------------------------------------------------------


class SubmitBody(BaseModel):
    """A data-subject request (GDPR) as a handler registers it; official documents have
    their own route."""

    kind: Kind
    subject: str = Field(max_length=20, description="Personnummer or samordningsnummer")
    received: date | datetime | None = Field(
        default=None, description="The day (Stockholm) or instant it was received; default now"
    )
    channel: Channel = Channel.E_SERVICE
    assignee: str | None = Field(default=None, max_length=64)
    details: RequestDetails = Field(default_factory=RequestDetails)


def assignable(member: StaffMember, assignee: str | None) -> str | None:
    """A new case is assigned only to a handler in the staff roster as it stands today."""
    if assignee is None:
        return None
    try:
        # First the id's shape: an identity number typed here is never echoed.
        assignee = HANDLER_ID.validate_python(assignee)
    except ValidationError as error:
        text = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        raise Problem(422, f"assignee: {text}") from None
    why = refusal(member.staff, assignee, "take_case")
    if why is not None:
        raise Problem(422, f"assignee: {why}")
    # As the roster spells it: "Anna" and "anna" are one handler, in one list of cases.
    return spelled(member, assignee, "assignee")


def received_at(value: date | datetime | None) -> datetime:
    now = datetime.now(UTC)
    if value is None:
        return now
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise Problem(
                422, "received: an instant needs a time zone, e.g. 2026-03-05T14:30:00+01:00"
            )
        at = value
    else:
        at = datetime.combine(value, time(), STOCKHOLM)
    if at > now:
        raise Problem(422, "received: the request cannot be received in the future")
    if at < now - OLDEST_RECEIPT:
        raise Problem(422, "received: more than two years ago; check the date")
    return at


@router.post(
    "/requests", response_model=SubmitRequestResult, status_code=201, summary="Register a request"
)
async def submit(request: Request, body: SubmitBody, member: Staff) -> SubmitRequestResult:
    if body.kind is Kind.PUBLIC_ACCESS:
        raise Problem(422, "kind: a request for official documents has its own route")
    member.may("take_case")
    try:
        subject_id = parse_subject_id(body.subject)
    except ValueError as error:
        raise Problem(422, f"subject: {error}") from None
    settings: Settings = request.app.state.settings
    assignee = assignable(member, body.assignee)
    details = corrections_checked(body.details)
    intake = SubmitRequestInput(
        kind=body.kind,
        subject_id=subject_id,
        received_at=received_at(body.received),
        channel=body.channel,
        verified_by=None,
        assignee=assignee,
        details=details,
    )
    try:
        return await cases.register(temporal(request), settings, intake)
    except cases.CaseError as error:
        raise call(error) from None


def corrections_checked(details: RequestDetails) -> RequestDetails:
    """Each correction asked for (Art. 16) in the form every system keeps it, or 422 naming
    the field; a field at most once."""
    fields = [change.field for change in details.changes]
    if len(set(fields)) != len(fields):
        raise Problem(422, "change: each field at most once")
    changes = []
    for change in details.changes:
        try:
            value = validate_rectification(change.field.value, change.new_value)
        except ValueError as error:
            raise Problem(422, f"change: {error}") from None
        changes.append(change.model_copy(update={"new_value": value}))
    return details.model_copy(update={"changes": changes})


def known_types(query: DocumentQuery) -> None:
    """The document types asked for are the archive's (systems/archive/documents.yaml)."""
    try:
        known = load_archive().document_types
    except ArchiveError as error:
        raise Problem(503, f"the document archive's declaration cannot be read: {error}") from None
    for name in query.types:
        if name not in known:
            raise Problem(
                422, f"type: unknown document type {name!r}; use one of {', '.join(known)}"
            )


class PublicSubmitBody(BaseModel):
    """A request for official documents (TF 2 kap.): anyone may ask, anonymously, and need not
    say why; no identity number is taken."""

    sender: str | None = Field(default=None, max_length=100)
    description: str = Field(max_length=200)
    query: DocumentQuery
    contact: Contact | None = None
    received: date | datetime | None = None
    channel: Channel = Channel.E_SERVICE
    assignee: str | None = Field(default=None, max_length=64)


@router.post(
    "/public-requests",
    response_model=SubmitRequestResult,
    status_code=201,
    summary="Register a request for official documents",
)
async def submit_public(
    request: Request, body: PublicSubmitBody, member: Staff
) -> SubmitRequestResult:
    member.may("take_case")
    settings: Settings = request.app.state.settings
    known_types(body.query)
    try:
        public = PublicRequest(
            sender=body.sender, description=body.description, query=body.query, contact=body.contact
        )
    except ValidationError as error:
        raise Problem(422, validation_detail(list(error.errors()))) from None
    intake = SubmitRequestInput(
        kind=Kind.PUBLIC_ACCESS,
        received_at=received_at(body.received),
        channel=body.channel,
        assignee=assignable(member, body.assignee),
        public=public,
    )
    try:
        return await cases.register(temporal(request), settings, intake)
    except cases.CaseError as error:
        raise call(error) from None
