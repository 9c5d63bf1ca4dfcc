"""The JSON API under /api/v1: who is signed in, the roster, the list of cases, a case's status,
registering a request, and every handler action.

Every call carries a bearer access token from the identity provider. The actor of an action is
the login the token names, never a field of the request: the service puts it in the update's
`handler` itself and refuses a body that names anyone else. The service checks the role an
action takes against the roster as it stands today (403 naming the role); the case checks it
again, and whatever else the law and the case's state say (409), before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from activities.register import RegisterActivities
from activities.store import ExtractStore
from contract.actions import ActionResult
from contract.base import HandlerId
from contract.calendar import STOCKHOLM
from contract.case import CaseState, CaseStatus, ReassignInput
from contract.erasure import FollowUpStatus
from contract.intake import RequestDetails, SubmitRequestInput, SubmitRequestResult
from contract.public_access import LinkCaseInput, SearchAgainInput
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.roles import Role, refusal
from contract.subject import parse_subject_id
from contract.vocabulary import CASE_NUMBER_PATTERN, Channel, Kind
from infra.audit import chain_key, evidence as audit_evidence, verify as verify_chain
from infra.codec import EncryptionKeyError
from infra.config import Settings
from infra.db import Case, create_engine
from infra.roster import NotOnRoster, RosterError, StaffToday, staff_on as roster_on
from service import cases
from service.actions import ACTIONS, Action, body_model
from service.auth import AuthenticationError, Principal, ProviderUnavailable, TokenVerifier
from service.metering import RateLimit
from service.problems import Problem, unauthorized, validation_detail
from systems.catalog import validate_rectification
from systems.document_archive import ArchiveError, document_text, load_archive

router = APIRouter(prefix="/api/v1")
HANDLER_ID: TypeAdapter[str] = TypeAdapter(HandlerId)

# A request registered late may carry an old date of receipt, but not an implausible one.
OLDEST_RECEIPT = timedelta(days=2 * 366)

CaseNumberPath = Annotated[
    str, Path(pattern=CASE_NUMBER_PATTERN, description="e.g. DSR-2026-000042")
]


# --- who is calling ----------------------------------------------------------------------------


async def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(
            "sign in first: this call needs a bearer access token from the identity provider"
        )
    verifier: TokenVerifier = request.app.state.verifier
    try:
        who = await verifier.verify(token.strip())
    except AuthenticationError as error:
        raise unauthorized(str(error)) from None
    except ProviderUnavailable as error:
        raise Problem(503, str(error)) from None
    limit: RateLimit = request.app.state.rate_limit
    await limit.check(f"login:{who.login.casefold()}" if who.login else f"client:{who.subject}")
    return who


@dataclass(frozen=True)
class StaffMember:
    """A signed-in person found in the roster: `login` as the roster spells it, and the
    roster today (`today`: everyone's ids as it spells them, and their roles)."""

    login: str
    roles: list[Role]
    today: StaffToday

    @property
    def staff(self) -> dict[str, list[Role]]:
        return self.today.roles

    @property
    def names(self) -> list[str]:
        return self.today.names

    def may(self, action: str) -> None:
        why = refusal(self.staff, self.login, action)
        if why is not None:
            raise Problem(403, why)

    def allows(self, action: str) -> bool:
        """Whether the roster today lets this person take `action` (what `may` checks)."""
        return refusal(self.staff, self.login, action) is None


def staff_on(settings: Settings, day: date | None = None, *, checked: bool = False) -> StaffToday:
    """Everyone on the roster and their roles on `day` (default today), by the roster and the
    delegation register; `checked`: files that do not fit together are refused too (503)."""
    try:
        return roster_on(
            settings.roster,
            settings.delegation_register,
            day or datetime.now(STOCKHOLM).date(),
            checked=checked,
        )
    except RosterError as error:
        raise Problem(503, f"the staff roster cannot be read: {error}") from None


def roster_member(settings: Settings, login: str) -> StaffMember:
    """The signed-in `login` as the roster has it today, or 403 saying why not."""
    today = staff_on(settings)
    try:
        entry = today.member(login)
    except NotOnRoster as error:
        raise Problem(403, str(error)) from None
    return StaffMember(entry, today.roles_of(entry), today)


async def staff_member(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> StaffMember:
    settings: Settings = request.app.state.settings
    if who.login is None or who.client_id in settings.eservice_client_ids:
        # A client's own token (Keycloak gives service accounts a login claim too).
        raise Problem(
            403,
            f"client {who.client_id or who.subject} acts for no person; staff calls need a "
            "person's sign-in",
        )
    return roster_member(settings, who.login)


Staff = Annotated[StaffMember, Depends(staff_member)]


def temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise Problem(503, "Temporal cannot be reached right now; try again shortly")
    return client


def call(error: cases.CaseError) -> Problem:
    return Problem(error.status, error.message)


class SignIn(BaseModel):
    issuer: str
    client_id: str
    scope: str


@router.get("/sign-in", response_model=SignIn, summary="How a command-line client signs in")
async def sign_in(request: Request) -> SignIn:
    """The identity provider and the public client for the device flow (no token needed)."""
    settings: Settings = request.app.state.settings
    return SignIn(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_cli_client_id,
        scope=settings.oidc_cli_scope,
    )


# --- reading -------------------------------------------------------------------------------


class Me(BaseModel):
    login: str
    roles: list[Role]


@router.get("/me", response_model=Me, summary="Who is signed in, and their roles today")
async def me(member: Staff) -> Me:
    return Me(login=member.login, roles=member.roles)


@router.get("/roster", summary="The staff roster: everyone's roles on a day (default today)")
async def roster(request: Request, member: Staff, on: date | None = None) -> dict[str, Any]:
    """Who may act on cases, in which roles, on a day: the roster with the decision makers of
    the delegation register. Files that do not fit together are refused (503)."""
    day = on or datetime.now(STOCKHOLM).date()
    held = staff_on(request.app.state.settings, day, checked=True).roles
    return {"on": day.isoformat(), "staff": {who: list(roles) for who, roles in held.items()}}


@router.get("/cases", summary="Cases, as supervisors see them in the Web UI")
async def list_cases(
    request: Request,
    member: Staff,
    open_only: Annotated[bool, Query(alias="open")] = False,
    kind: Kind | None = None,
    overdue: bool = False,
    due_within_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
    assignee: Annotated[HandlerId | None, Query(max_length=64)] = None,
) -> JSONResponse:
    query = cases.list_query(
        kind=kind,
        open_only=open_only,
        overdue=overdue,
        due_within=timedelta(days=due_within_days) if due_within_days is not None else None,
        assignee=spelled(member, assignee, "assignee") if assignee is not None else None,
    )
    # Plain strings and booleans: written as they are, without FastAPI's encoder walking them.
    return JSONResponse({"cases": await cases.list_cases(temporal(request), query)})


async def recorded_read(
    request: Request, case_number: str, member: StaffMember, action: str, detail: str | None = None
) -> None:
    """Reads are evidence: who opened what, and when, goes into the case's trail."""
    register: RegisterActivities = request.app.state.register
    try:
        await register.record_read(case_number, member.login, action, detail)
    except LookupError:
        # A case Temporal knows but the register does not yet (intake is committing it).
        raise Problem(503, f"case {case_number} is not in the register yet; try again") from None


def unsealed(settings: Settings, refs: list[str], gone: str) -> dict[str, str]:
    """Files of the extract store, opened for the person reading them; 410 with `gone` once
    they are deleted."""
    store = ExtractStore(settings.extract_dir, settings.key_ring())
    try:
        return {ref: store.read_text(ref) for ref in refs}
    except FileNotFoundError:
        raise Problem(410, gone) from None
    except EncryptionKeyError as error:
        raise Problem(503, str(error)) from None


@router.get("/cases/{case_number}", response_model=None, summary="A case's status")
async def status(request: Request, case_number: CaseNumberPath, member: Staff) -> dict[str, Any]:
    try:
        current = await cases.fetch_status(temporal(request), case_number)
    except cases.CaseError as error:
        raise call(error) from None
    await recorded_read(request, case_number, member, "read:case")
    payload = current.model_dump(mode="json")
    payload["days_left"] = (current.deadline - datetime.now(STOCKHOLM).date()).days
    return payload


@router.get(
    "/cases/{case_number}/extract",
    response_class=Response,
    summary="The case's extract: the Swedish letter (HTML) or its JSON",
    responses={200: {"content": {"text/html": {}, "application/json": {}}}},
)
async def extract(
    request: Request,
    case_number: CaseNumberPath,
    member: Staff,
    form: Annotated[str, Query(pattern="^(html|json)$", alias="format")] = "html",
) -> Response:
    member.may("read_extract")
    settings: Settings = request.app.state.settings
    try:
        current = await cases.fetch_status(temporal(request), case_number)
    except cases.CaseError as error:
        raise call(error) from None
    if current.extract is None:
        raise Problem(409, f"case {case_number} has no extract (yet)")
    ref = current.extract.json_ref if form == "json" else current.extract.html_ref
    text = unsealed(
        settings,
        [ref],
        f"case {case_number}: the extract is no longer kept (deleted after delivery)",
    )[ref]
    await recorded_read(request, case_number, member, "read:extract", form)
    media = "application/json" if form == "json" else "text/html; charset=utf-8"
    return Response(text, media_type=media, headers={"Cache-Control": "no-store"})


@router.get("/cases/{case_number}/audit", summary="Verify the case's audit trail")
async def audit(request: Request, case_number: CaseNumberPath, member: Staff) -> dict[str, Any]:
    member.may("read_trail")
    settings: Settings = request.app.state.settings
    client: Client | None = request.app.state.temporal
    steps = await cases.transitions(client, case_number) if client else None
    async with request.app.state.register_sessions() as session:
        if await session.get(Case, case_number) is None:
            raise Problem(404, f"case {case_number} is not in the register")
        result = await verify_chain(
            session,
            case_number,
            chain_key(settings.reference_secret),
            expected_transitions=steps,
        )
    return {**result.summary(), "compared_with_workflow": steps is not None}


@router.get("/cases/{case_number}/audit/export", summary="The case's audit evidence")
async def audit_export(
    request: Request, case_number: CaseNumberPath, member: Staff
) -> dict[str, Any]:
    """The register entry, every event (who, what, when; reads included), each link of the
    hash chain and its verification. No payload data."""
    member.may("read_trail")
    settings: Settings = request.app.state.settings
    async with request.app.state.register_sessions() as session:
        try:
            return await audit_evidence(
                session, case_number, chain_key(settings.reference_secret), settings.key_ring()
            )
        except LookupError as error:
            raise Problem(404, str(error)) from None


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


def spelled(member: StaffMember, login: str, where: str) -> str:
    """A handler id as the roster spells it (the id as given if it is in no roster entry; the
    case then refuses it by the roster). Not ASCII: 422, like a look-alike login."""
    if not login.isascii():
        raise Problem(422, f"{where}: a handler id is ASCII letters, digits, '.', '_' or '-'")
    return member.today.spelled(login) or login


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


async def public_status(request: Request, case_number: str, what: str) -> CaseStatus:
    """A public-access case's status; any other kind is refused with a clear line."""
    try:
        current = await cases.fetch_status(temporal(request), case_number)
    except cases.CaseError as error:
        raise call(error) from None
    if current.public is None:
        raise Problem(
            409,
            f"case {case_number} is not a public-access request ({current.kind.value}); only "
            f"those {what}",
        )
    return current


@router.get("/cases/{case_number}/documents", summary="The documents found, confirmed, reviewed")
async def documents(request: Request, case_number: CaseNumberPath, member: Staff) -> dict[str, Any]:
    current = await public_status(request, case_number, "have documents to list")
    assert current.public is not None
    await recorded_read(request, case_number, member, "read:case")
    return {"state": current.state.value, **current.public.model_dump(mode="json")}


@router.get(
    "/cases/{case_number}/documents/{document_id}",
    summary="A document's full text, to review it for secrecy",
)
async def document(
    request: Request,
    case_number: CaseNumberPath,
    document_id: Annotated[int, Path(ge=1, le=2**31)],
    member: Staff,
) -> dict[str, Any]:
    member.may("review_document")
    current = await public_status(request, case_number, "have documents to review")
    assert current.public is not None
    if document_id not in {d.document_id for d in current.public.candidates}:
        raise Problem(
            404, f"document {document_id} is not among the documents found for {case_number}"
        )
    settings: Settings = request.app.state.settings
    try:
        declaration = load_archive()
    except ArchiveError as error:
        raise Problem(503, f"the document archive's declaration cannot be read: {error}") from None
    engine = create_engine(settings.archive_url, own_database=False)
    try:
        text = await document_text(engine, declaration, document_id)
    except LookupError:
        raise Problem(404, f"document {document_id} is not in the archive") from None
    except SQLAlchemyError as error:
        raise Problem(
            503, f"the document archive cannot be read ({type(error).__name__})"
        ) from None
    finally:
        await engine.dispose()
    await recorded_read(request, case_number, member, "read:document", str(document_id))
    return {"document_id": document_id, "text": text}


@router.get("/cases/{case_number}/preview", summary="The letter and copies exactly as they will go")
async def preview(request: Request, case_number: CaseNumberPath, member: Staff) -> dict[str, Any]:
    member.may("approve_release")
    current = await public_status(request, case_number, "have copies")
    public = current.public
    assert public is not None
    if public.letter_ref is None:
        raise Problem(
            409,
            f"case {case_number}: no copies are prepared yet (every document is reviewed first)",
        )
    settings: Settings = request.app.state.settings
    refs = [public.letter_ref, *public.copy_refs]
    texts = unsealed(
        settings,
        refs,
        f"case {case_number}: the copies are no longer kept (deleted after delivery)",
    )
    files = {PurePath(ref).name: texts[ref] for ref in refs}
    await recorded_read(request, case_number, member, "read:copies")
    return {"case_number": case_number, "state": current.state.value, "files": files}


@router.get(
    "/cases/{case_number}/retention",
    response_model=FollowUpStatus,
    summary="What an erasure case still keeps, and when its follow-up looks again",
)
async def retention(request: Request, case_number: CaseNumberPath, member: Staff) -> FollowUpStatus:
    client = temporal(request)
    try:
        handle = await cases.retention_handle(client, case_number)
        progress: FollowUpStatus = await handle.query(
            "progress", result_type=FollowUpStatus, rpc_timeout=cases.QUERY_TIMEOUT
        )
    except cases.CaseError as error:
        raise call(error) from None
    return progress


# --- handler actions -------------------------------------------------------------------------


def _with_actor(member: StaffMember, body: BaseModel, model: type[BaseModel]) -> BaseModel:
    named = getattr(body, "handler", None)
    if named is not None and str(named).strip().casefold() != member.login.casefold():
        # What the body named is not repeated: it may be an identity number typed wrong.
        raise Problem(
            403,
            f"handler: the body names someone else, but {member.login} is signed in; an action "
            "is always taken as who signed in",
        )
    if getattr(body, "action_id", None) is not None:
        raise Problem(
            422,
            "action_id: the case service gives each action its one-time id; a body does not",
        )
    fields = body.model_dump(exclude={"handler", "action_id", "for_case"})
    return model.model_validate({**fields, "handler": member.login})


async def perform(
    request: Request, member: StaffMember, case_number: str, action: Action, body: BaseModel
) -> Any:
    """Take `action` on the case as `member` (the API's routes and the console's forms): the
    role first, then the case judges it; a refusal is a Problem and changes nothing."""
    member.may(action.role_action)
    update = _with_actor(member, body, action.model)
    if isinstance(update, SearchAgainInput):
        known_types(update.query)
    if isinstance(update, ReassignInput):
        # The roster's spelling: "CECILIA" is cecilia, in her list of cases.
        to = spelled(member, update.to, "to")
        update = update.model_copy(update={"to": to})
    client = temporal(request)
    try:
        if action.target == "retention":
            handle = await cases.retention_handle(client, case_number)
        elif action.public_only:
            await public_status(request, case_number, f"take {action.path}")
            handle = client.get_workflow_handle(case_number)
        else:
            return await cases.update_case(
                client, case_number, action.update, update, action.result
            )
        return await cases.run_update(handle, case_number, action.update, update, action.result)
    except cases.CaseError as error:
        raise call(error) from None


def _add_action_route(action: Action) -> None:
    body_type = body_model(action.model)

    async def take(
        request: Request,
        case_number: CaseNumberPath,
        body: body_type,  # type: ignore[valid-type]
        member: Staff,
    ) -> Any:
        return await perform(request, member, case_number, action, body)

    take.__name__ = action.update
    # Annotations are strings here (PEP 563): give FastAPI the body's class itself.
    take.__annotations__["body"] = body_type
    router.add_api_route(
        f"/cases/{{case_number}}/{action.path}",
        take,
        methods=["POST"],
        response_model=action.result,
        summary=action.summary,
        name=action.update,
    )


for _action in ACTIONS:
    _add_action_route(_action)


class LinkBody(BaseModel):
    other: Annotated[str, Field(pattern=CASE_NUMBER_PATTERN)]
    handler: str | None = None


@router.post("/cases/{case_number}/link", summary="Link two open cases handled together")
async def link(
    request: Request, case_number: CaseNumberPath, body: LinkBody, member: Staff
) -> dict[str, Any]:
    member.may("link")
    if body.other == case_number:
        raise Problem(422, "a case cannot be linked with itself")
    client = temporal(request)
    pairs = {case_number: body.other, body.other: case_number}
    try:
        # Both must take the link before either does: no half-linked pair.
        for number in pairs:
            if (await cases.fetch_status(client, number)).state is CaseState.CLOSED:
                raise cases.CaseError(409, f"case {number} is closed")
        states = {}
        for number, other in pairs.items():
            action = _with_actor(member, LinkBody(other=other, handler=body.handler), LinkCaseInput)
            handle = client.get_workflow_handle(number)
            result = await cases.run_update(handle, number, "link", action, ActionResult)
            states[number] = result.state.value
    except cases.CaseError as error:
        raise call(error) from None
    return {"linked": [case_number, body.other], "states": states}
