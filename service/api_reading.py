"""The API's reads: who is signed in, the roster, the list of cases, a case's status, its
extract and audit trail, a public-access case's documents and preview, an erasure's follow-up.
Every read of a case's personal data is written to its trail.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from activities.register import RegisterActivities
from activities.store import ExtractStore
from contract.base import HandlerId
from contract.calendar import STOCKHOLM
from contract.case import CaseStatus
from contract.erasure import FollowUpStatus
from contract.roles import Role
from contract.vocabulary import Kind
from infra.audit import chain_key, evidence as audit_evidence, verify as verify_chain
from infra.codec import EncryptionKeyError
from infra.config import Settings
from infra.db import Case, create_engine
from service import cases
from service.callers import CaseNumberPath, Staff, StaffMember, call, spelled, staff_on, temporal
from service.problems import Problem
from systems.document_archive import ArchiveError, document_text, load_archive

router = APIRouter(prefix="/api/v1")


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
