"""The customer e-service's door: it submits a person's request with their e-ID proof, and
later asks how the request stands, by the reference it was given.

The e-service authenticates as a client (OAuth 2.0 client credentials; its client id must be
one of DSR_ESERVICE_CLIENT_IDS). The proof has the shape of BankID's relying-party answer to
`collect` for a completed order: the order reference, and completion data with the personal
number, the signature and the OCSP response. The service does not take it on trust: it asks
the e-ID provider for the order itself (the e-ID adapter) and registers the request only if
the provider knows the order as complete, for the same personal number, with the same
signature and OCSP response, completed within DSR_EID_PROOF_MAX_AGE_SECONDS. An order is good
for one request: the reference is derived from it, and a second submission is refused. A
refused submission registers nothing.

The status answer carries nothing personal: the state, the date the answer is due by, whether
the case is closed, and a reason code when it ended without what was asked.
"""

from __future__ import annotations

import hmac
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from contract.case import Outcome
from contract.intake import RequestDetails, SubmitRequestInput, SubmitRequestResult
from contract.subject import parse_subject_id
from contract.vocabulary import Channel, IdentityMethod, Kind
from infra.adapters import EidCompletion, EidProvider
from infra.config import Settings
from service import cases
from service.api_requests import corrections_checked
from service.auth import Principal
from service.callers import call, principal, temporal
from service.problems import Problem

router = APIRouter(prefix="/api/v1/eservice", tags=["e-service"])

REFERENCE_PREFIX = "eservice-"
REFERENCE_PATTERN = r"^eservice-[A-Za-z0-9-]{1,100}$"
# Ended without what was asked: the e-service shows the person why, by code.
REASON_CODES = {
    Outcome.REFUSED: "refused",
    Outcome.REJECTED: "rejected",
    Outcome.CLOSED_UNVERIFIED: "identity_not_verified",
    Outcome.WITHDRAWN: "withdrawn",
}


class BankIdUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    personalNumber: str = Field(max_length=12)  # noqa: N815 - BankID's field name


class BankIdCompletionData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user: BankIdUser
    signature: str = Field(min_length=1, max_length=100_000)
    ocspResponse: str = Field(min_length=1, max_length=50_000)  # noqa: N815


class BankIdProof(BaseModel):
    """BankID's collect answer for a completed order, as the e-service received it."""

    model_config = ConfigDict(extra="ignore")
    orderRef: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")  # noqa: N815
    status: Literal["complete"]
    completionData: BankIdCompletionData  # noqa: N815


class EserviceSubmission(BaseModel):
    kind: Kind
    details: RequestDetails = Field(default_factory=RequestDetails)
    eid: BankIdProof


class EserviceReceipt(BaseModel):
    reference: str
    case_number: str
    deadline: date
    existing: bool


class EserviceStatus(BaseModel):
    reference: str
    state: str
    due_by: date
    closed: bool
    reason_code: str | None


def eservice_client(request: Request, who: Annotated[Principal, Depends(principal)]) -> str:
    settings: Settings = request.app.state.settings
    if who.client_id not in settings.eservice_client_ids:
        raise Problem(
            403, "only the customer e-service's client may use this door (client credentials)"
        )
    return str(who.client_id)


EserviceClient = Annotated[str, Depends(eservice_client)]


async def verified_order(
    provider: EidProvider, proof: BankIdProof, settings: Settings
) -> EidCompletion:
    """The order as the e-ID provider holds it, if it confirms the proof; or a refusal."""
    try:
        given = parse_subject_id(proof.completionData.user.personalNumber)
    except ValueError as error:
        raise Problem(422, f"eid.completionData.user.personalNumber: {error}") from None
    completion = await provider.collect(proof.orderRef)
    if completion is None:
        raise Problem(
            422, "the e-ID proof names an order the e-ID provider does not know as completed"
        )
    same = (
        completion.personal_number == given
        and hmac.compare_digest(
            completion.signature.encode(), proof.completionData.signature.encode()
        )
        and hmac.compare_digest(
            completion.ocsp_response.encode(), proof.completionData.ocspResponse.encode()
        )
    )
    if not same:
        raise Problem(
            422,
            "the e-ID proof does not match what the e-ID provider holds for the order "
            "(altered or forged); nothing was registered",
        )
    age = datetime.now(UTC) - completion.completed_at
    if age > timedelta(seconds=settings.eid_proof_max_age_seconds):
        raise Problem(
            422,
            f"the e-ID proof has expired (signed {int(age.total_seconds() // 60)} minutes ago; "
            f"at most {settings.eid_proof_max_age_seconds // 60}); the person signs again",
        )
    return completion


@router.post("/requests", response_model=EserviceReceipt, status_code=201)
async def submit(
    request: Request, body: EserviceSubmission, client_id: EserviceClient
) -> EserviceReceipt:
    """A person's GDPR request, signed with BankID in the e-service."""
    if body.kind is Kind.PUBLIC_ACCESS:
        raise Problem(422, "kind: a request for official documents needs no e-ID")
    settings: Settings = request.app.state.settings
    # The request itself first: a wrong one spends no proof.
    details = corrections_checked(body.details)
    order = await verified_order(request.app.state.eid_provider, body.eid, settings)
    # The provider's own spelling of the order: another spelling of it is no new order.
    reference = f"{REFERENCE_PREFIX}{order.order_ref}"
    intake = SubmitRequestInput(
        kind=body.kind,
        subject_id=order.personal_number,
        received_at=datetime.now(UTC),
        channel=Channel.E_SERVICE,
        verified_by=IdentityMethod.BANKID,
        eid_order_ref=order.order_ref,
        details=details,
    )
    try:
        result: SubmitRequestResult = await cases.register(
            temporal(request), settings, intake, intake_id=reference
        )
    except cases.CaseError as error:
        raise call(error) from None
    return EserviceReceipt(
        reference=reference,
        case_number=result.case_number,
        deadline=result.deadline,
        existing=result.existing,
    )


@router.get("/requests/{reference}", response_model=EserviceStatus)
async def request_status(
    request: Request,
    reference: Annotated[str, Path(pattern=REFERENCE_PATTERN)],
    client_id: EserviceClient,
) -> EserviceStatus:
    """How the request stands: nothing personal, only its state and dates."""
    client = temporal(request)
    unknown = Problem(404, f"no request with the reference {reference}")
    intake = client.get_workflow_handle(reference, result_type=SubmitRequestResult)
    try:
        described = await intake.describe()
        if described.status is WorkflowExecutionStatus.RUNNING:
            raise Problem(503, f"the request {reference} is still being registered; ask again")
        registered: Any = await intake.result()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise unknown from None
        raise
    except WorkflowFailureError:
        raise unknown from None
    try:
        current = await cases.fetch_status(client, registered.case_number)
    except cases.CaseError as error:
        raise call(error) from None
    return EserviceStatus(
        reference=reference,
        state=current.state.value,
        due_by=current.deadline,
        closed=current.outcome is not None,
        reason_code=REASON_CODES.get(current.outcome) if current.outcome else None,
    )
