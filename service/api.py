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
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from temporalio.client import Client

from dsr.calendar import STOCKHOLM
from dsr.config import Settings
from dsr.delegation import DelegationError, load_delegations
from dsr.models import (
    CASE_NUMBER_PATTERN,
    ActionResult,
    Channel,
    Kind,
    LinkCaseInput,
    RequestDetails,
    SubmitRequestInput,
    SubmitRequestResult,
)
from dsr.roles import Role, refusal
from dsr.roster import RosterError, load_roster
from dsr.subject import parse_subject_id
from service import cases
from service.actions import ACTIONS, Action, body_model
from service.auth import AuthenticationError, Principal, ProviderUnavailable, TokenVerifier
from service.problems import Problem, unauthorized

router = APIRouter(prefix="/api/v1")

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
        return await verifier.verify(token.strip())
    except AuthenticationError as error:
        raise unauthorized(str(error)) from None
    except ProviderUnavailable as error:
        raise Problem(503, str(error)) from None


@dataclass(frozen=True)
class StaffMember:
    """A signed-in person found in the roster: `login` as the roster spells it."""

    login: str
    roles: list[Role]
    staff: dict[str, list[Role]]

    def may(self, action: str) -> None:
        why = refusal(self.staff, self.login, action)
        if why is not None:
            raise Problem(403, why)


def staff_today(settings: Settings) -> tuple[list[str], dict[str, list[Role]]]:
    """The roster's ids and everyone's roles today (roster and delegations)."""
    try:
        roster = load_roster(settings.roster)
        delegations = load_delegations(settings.delegation_register)
    except (RosterError, DelegationError) as error:
        raise Problem(503, f"the staff roster cannot be read: {error}") from None
    return list(roster.staff), roster.roles_on(delegations, datetime.now(STOCKHOLM).date())


async def staff_member(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> StaffMember:
    if who.login is None:
        raise Problem(
            403,
            f"client {who.client_id or who.subject} acts for no person; staff calls need a "
            "person's sign-in",
        )
    names, staff = staff_today(request.app.state.settings)
    spelled = next((name for name in names if name.casefold() == who.login.casefold()), None)
    if spelled is None:
        raise Problem(403, f"{who.login} is not in the staff roster")
    return StaffMember(spelled, staff.get(spelled.casefold(), []), staff)


Staff = Annotated[StaffMember, Depends(staff_member)]


def temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise Problem(503, "Temporal cannot be reached right now; try again shortly")
    return client


def call(error: cases.CaseError) -> Problem:
    return Problem(error.status, error.message)


# --- reading -------------------------------------------------------------------------------


class Me(BaseModel):
    login: str
    roles: list[Role]


@router.get("/me", response_model=Me, summary="Who is signed in, and their roles today")
async def me(member: Staff) -> Me:
    return Me(login=member.login, roles=member.roles)


@router.get("/roster", summary="The staff roster: everyone's roles today")
async def roster(member: Staff) -> dict[str, Any]:
    return {"staff": member.staff}


@router.get("/cases", summary="Cases, as supervisors see them in the Web UI")
async def list_cases(
    request: Request,
    member: Staff,
    open_only: Annotated[bool, Query(alias="open")] = False,
    kind: Kind | None = None,
    overdue: bool = False,
    due_within_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=r"^[\w.-]+$")] = None,
) -> dict[str, Any]:
    query = cases.list_query(
        kind=kind,
        open_only=open_only,
        overdue=overdue,
        due_within=timedelta(days=due_within_days) if due_within_days is not None else None,
        assignee=assignee,
    )
    return {"cases": await cases.list_cases(temporal(request), query)}


@router.get("/cases/{case_number}", response_model=None, summary="A case's status")
async def status(request: Request, case_number: CaseNumberPath, member: Staff) -> dict[str, Any]:
    try:
        current = await cases.fetch_status(temporal(request), case_number)
    except cases.CaseError as error:
        raise call(error) from None
    payload = current.model_dump(mode="json")
    payload["days_left"] = (current.deadline - datetime.now(STOCKHOLM).date()).days
    return payload


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
    assignee = None
    if body.assignee is not None:
        why = refusal(member.staff, body.assignee, "take_case")
        if why is not None:
            raise Problem(422, f"assignee: {why}")
        # As the roster spells it: "Anna" and "anna" are one handler, in one list of cases.
        names, _ = staff_today(settings)
        assignee = next(n for n in names if n.casefold() == body.assignee.casefold())
    intake = SubmitRequestInput(
        kind=body.kind,
        subject_id=subject_id,
        received_at=received_at(body.received),
        channel=body.channel,
        verified_by=None,
        assignee=assignee,
        details=body.details,
    )
    try:
        return await cases.register(temporal(request), settings, intake)
    except cases.CaseError as error:
        raise call(error) from None


# --- handler actions -------------------------------------------------------------------------


def _with_actor(member: StaffMember, body: BaseModel, model: type[BaseModel]) -> BaseModel:
    named = getattr(body, "handler", None)
    if named is not None and str(named).strip().casefold() != member.login.casefold():
        raise Problem(
            403,
            f"handler: the body names {str(named)[:64]!r}, but {member.login} is signed in; an "
            "action is always taken as who signed in",
        )
    fields = body.model_dump(exclude={"handler"})
    return model.model_validate({**fields, "handler": member.login})


def _add_action_route(action: Action) -> None:
    body_type = body_model(action.model)

    async def take(
        request: Request,
        case_number: CaseNumberPath,
        body: body_type,  # type: ignore[valid-type]
        member: Staff,
    ) -> Any:
        member.may(action.role_action)
        update = _with_actor(member, body, action.model)
        client = temporal(request)
        try:
            if action.target == "retention":
                handle = await cases.retention_handle(client, case_number)
            else:
                handle = await cases.case_handle(client, case_number)
                if action.public_only:
                    current = await cases.fetch_status(client, case_number)
                    if current.public is None:
                        raise cases.CaseError(
                            409,
                            f"case {case_number} is not a public-access request "
                            f"({current.kind.value}); only those take {action.path}",
                        )
            return await cases.run_update(handle, case_number, action.update, update, action.result)
        except cases.CaseError as error:
            raise call(error) from None

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
        handles = {number: await cases.case_handle(client, number) for number in pairs}
        states = {}
        for number, other in pairs.items():
            action = _with_actor(member, LinkBody(other=other, handler=body.handler), LinkCaseInput)
            result = await cases.run_update(handles[number], number, "link", action, ActionResult)
            states[number] = result.state.value
    except cases.CaseError as error:
        raise call(error) from None
    return {"linked": [case_number, body.other], "states": states}
