"""Payloads of workflows, activities, updates and queries (pydantic v2, sandbox-safe, no I/O).

One input model per call, named `<Verb>Input`, results `<Noun>Result`, so that fields with
defaults can be added later without breaking running cases.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from dsr.addresses import one_address
from dsr.roles import Role

# The shared words (dsr.vocabulary), re-exported: the models are where the engine finds them.
from dsr.vocabulary import (
    CASE_NUMBER_PATTERN as CASE_NUMBER_PATTERN,
    Channel as Channel,
    IdentityMethod as IdentityMethod,
    Kind as Kind,
    RectifiableField as RectifiableField,
    RectificationDecision as RectificationDecision,
    RestrictionGround as RestrictionGround,
    ReviewDecision as ReviewDecision,
    SecrecyGround as SecrecyGround,
)

CaseNumber = Annotated[str, StringConstraints(pattern=CASE_NUMBER_PATTERN)]
SubjectId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
_HANDLER_ID = re.compile(r"(?=.*[^\W\d_])[\w.-]{1,64}")
_LOOKS_LIKE_IDENTITY_NUMBER = re.compile(r"\d{6}")


def _handler_id(text: str) -> str:
    # Handler ids become search attributes and trail rows: an identity number typed into the
    # wrong option must not get there.
    if not _HANDLER_ID.fullmatch(text) or _LOOKS_LIKE_IDENTITY_NUMBER.search(text):
        raise ValueError(
            "a handler id is 1-64 letters, digits, '.', '_' or '-', with at least one letter "
            "and no run of six digits"
        )
    return text


# Handler ids are short, printable and free of personal data (an employee id or login).
HandlerId = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_handler_id)]


def _non_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text.strip()


Reason = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_non_blank)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# One per action a person takes: the case service's client gives each update it sends a fresh
# one (dsr.client), and a case refuses an id it has already seen (workflows.roles), so an
# action read from a history and sent again does nothing.
ActionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class HandlerAction(Model):
    """The input of an update a person takes on a case: who (`handler`), a one-time id, and
    the case it was made for. The case service's client sets both (dsr.client); the case
    refuses an action made for another (workflows.guard), so even a payload sealed before
    payloads were bound to their case does nothing elsewhere."""

    action_id: ActionId | None = None
    for_case: Annotated[str, StringConstraints(max_length=100)] | None = None


# The GDPR kinds: each concerns one data subject, identified by their identity number.
GDPR_KINDS = frozenset(k for k in Kind if k is not Kind.PUBLIC_ACCESS)


# The fields as a Swedish letter names them.
FIELDS_SV: dict[str, str] = {
    "name": "namn",
    "street": "gatuadress",
    "postal_code": "postnummer",
    "city": "ort",
    "email": "e-postadress",
    "phone": "telefonnummer",
}


class CaseState(StrEnum):
    REGISTERED = "registered"
    AWAITING_IDENTITY = "awaiting_identity"
    COLLECTING = "collecting"
    BUILDING_EXTRACT = "building_extract"
    AWAITING_REVIEW = "awaiting_review"
    DELIVERING = "delivering"
    AWAITING_DECISION = "awaiting_decision"
    APPLYING = "applying"
    NOTIFYING_RECIPIENTS = "notifying_recipients"
    RESTRICTED = "restricted"
    PLANNING = "planning"
    AWAITING_APPROVAL = "awaiting_approval"
    RETAINING = "retaining"
    LIFTING_RESTRICTION = "lifting_restriction"
    SENDING_NOTICE = "sending_notice"
    AWAITING_MANUAL_DELIVERY = "awaiting_manual_delivery"
    # Public access: locate, confirm the list, review each document for secrecy, decide.
    LOCATING = "locating"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SECRECY_REVIEW = "secrecy_review"
    AWAITING_DECISION_REQUEST = "awaiting_decision_request"
    AWAITING_FORMAL_DECISION = "awaiting_formal_decision"
    AWAITING_APPEAL = "awaiting_appeal"
    CLOSED = "closed"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    DELIVERED_MANUALLY = "delivered_manually"
    CLOSED_UNVERIFIED = "closed_unverified"
    COMPLETED = "completed"
    PARTLY_COMPLETED = "partly_completed"
    REJECTED = "rejected"
    LIFTED = "lifted"
    REFUSED = "refused"
    # Public access.
    RELEASED = "released"  # every document released as it stands
    # Some documents or parts withheld (masked); no formal decision asked for.
    PARTLY_RELEASED = "partly_released"
    WITHHELD = "withheld"  # every document withheld; no formal decision asked
    DECISION_FINAL = "decision_final"  # a formal decision, not appealed in time
    # A decision sent by letter whose receipt was never shown: it has not become final.
    DECISION_SENT = "decision_sent"
    APPEAL_FORWARDED = "appeal_forwarded"  # a timely appeal, sent on to the court
    APPEAL_DISMISSED = "appeal_dismissed"  # an appeal that came in too late (FL 45 §)
    NO_DOCUMENTS = "no_documents"  # the company holds no document that matches
    # The subject or requester withdrew the request; what was carried out stays.
    WITHDRAWN = "withdrawn"


class DeliveryMethod(StrEnum):
    DIGITAL_MAILBOX = "digital_mailbox"
    LETTER = "letter"
    MANUAL = "manual"
    # Released official documents only, never personal data about the requester.
    EMAIL = "email"


class Escalation(StrEnum):
    NONE = "none"
    REMINDED = "reminded"
    ESCALATED = "escalated"
    OVERDUE = "overdue"


class PauseRecord(Model):
    """The clock stood still while the company waited for something it asked for."""

    reason: str  # "identity", "clarification"
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    # Whether it stops the clock: only if asked within the configured working days of receipt.
    counts: bool = True


class EscalationStep(Model):
    step: Escalation
    at: AwareDatetime


class SystemWait(Model):
    """A connected system a case is waiting for: retried with backoff until it answers."""

    system: str
    step: str  # what the case asked of it: collect, or a write (rectify, restrict, ...)
    since: AwareDatetime
    told_at: AwareDatetime | None = None  # when the assignee was told it takes too long


class EscalationRecord(Model):
    step: Escalation
    at: AwareDatetime
    deadline: date


class DeadlineInput(Model):
    case_number: CaseNumber
    kind: Kind
    received_at: AwareDatetime
    extended: bool = False
    pauses: list[PauseRecord] = Field(default_factory=list)


class DeadlinePlan(Model):
    """The deadline as it stands and when each step of the ladder falls due, in order.

    Computed in an activity, so the holiday table and the configured ladder a case uses are in
    its history: an upgrade of either cannot change a running case's replay.
    """

    deadline: date
    deadline_at: AwareDatetime
    steps: list[EscalationStep]
    paused_days: int = 0
    # Whether a pause that counts is still open: then the clock stands still.
    paused: bool = False
    # Which of the request's pauses count (indices), asked in time.
    counted: list[int] = Field(default_factory=list)


class ExtendInput(HandlerAction):
    """Art. 12(3): two more months, with the reasons told to the subject before the deadline."""

    handler: HandlerId
    reason: Reason
    # The handler has told the subject the reasons and the new deadline by letter or phone
    # (no digital mailbox); otherwise the engine tells them as part of the extension.
    told_outside: bool = False


class AskClarificationInput(HandlerAction):
    """The handler needs the subject to clarify the request; the question goes to them."""

    handler: HandlerId
    question: Reason


class RecordClarificationInput(HandlerAction):
    handler: HandlerId
    # The day the subject's answer arrived: the pause ends then. None: today.
    received_on: date | None = None


class ReassignInput(HandlerAction):
    handler: HandlerId  # who reassigns
    to: HandlerId


class RecordDeadlineInput(Model):
    case_number: CaseNumber
    key: int  # unique per case: a retry writes once
    actor: str
    action: str
    deadline: date
    assignee: str | None = None
    detail: str | None = None


# --- public access: the request -----------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Identity numbers (ÅÅMMDD-NNNN, ÅÅÅÅMMDDNNNN) and Swedish phone numbers; dates are fine.
_PHONE_OR_NUMBER = re.compile(
    r"\b\d{6}(\d{2})?[-+]?\d{4}\b|(\+46|\b0)\d{1,3}[- ]?\d{2,3}[- ]?\d{2}[- ]?\d{2}\b"
)


def _public_description(text: str) -> str:
    """The register's public entry (diarium): a short description, nothing personal."""
    text = _non_blank(text)
    if _EMAIL.search(text) or _PHONE_OR_NUMBER.search(text):
        raise ValueError(
            "the description is public: write what is asked for (e.g. 'Entreprenadavtal om "
            "schaktning 2024') without e-mail addresses, phone or identity numbers"
        )
    return text


# A party searched for that is a company or an authority, not a person.
_COMPANY = re.compile(
    r"\b(AB|HB|KB|aktiebolag|kommun|region|förening|stiftelse|myndighet|verket)\b", re.IGNORECASE
)


def _mentions(text: str, part: str | None) -> bool:
    """`part` appears in `text` as whole words, also in the genitive, whatever the case ("Per
    Holms" names Per Holm; "Bo" is not in "Bokföring")."""
    if not part or not part.strip():
        return False
    pattern = rf"(?<!\w){re.escape(part.strip())}s?(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
PublicDescription = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(_public_description)
]


def _email(text: str) -> str:
    return one_address(text)


class Contact(Model):
    """Where copies and decisions go, only if the requester wants them sent (never required).

    Personal data of the requester: kept in the case, never in the register or in logs."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    email: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)
        ]
        | None
    ) = None
    postal_address: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    ] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _somewhere(self) -> Contact:
        if not self.email and not self.postal_address:
            raise ValueError("a contact needs an e-mail address or a postal address")
        return self


class DocumentQuery(Model):
    """What a requester asks for: by type, date range, party and free text (all must match)."""

    types: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]] = Field(
        default_factory=list, max_length=10
    )
    date_from: date | None = None
    date_to: date | None = None
    party: ShortText | None = None
    text: ShortText | None = None

    @model_validator(mode="after")
    def _something(self) -> DocumentQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("the date range ends before it starts")
        if not (self.types or self.date_from or self.date_to or self.party or self.text):
            raise ValueError("say what is asked for: a type, dates, a party or words in the text")
        return self


class PublicRequest(Model):
    """A request for official documents: who asks is optional, why is never asked."""

    # The name the requester gave, shown in the register; None: "anonymous".
    sender: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    description: PublicDescription
    query: DocumentQuery
    contact: Contact | None = None

    @model_validator(mode="after")
    def _description_names_nobody(self) -> PublicRequest:
        """Neither the requester (name, e-mail, address) nor a person searched for may appear
        in the public description; a company searched for may (it is no personal data)."""
        contact = self.contact
        requester = [self.sender, *((contact.name, contact.email) if contact else ())]
        requester += contact.postal_address if contact else []
        if any(_mentions(self.description, part) for part in requester):
            raise ValueError("the description is public: leave the requester's name out of it")
        party = self.query.party
        if party and not _COMPANY.search(party) and _mentions(self.description, party):
            raise ValueError(
                "the description is public: leave out the person searched for (the search keeps it)"
            )
        return self


# --- intake -------------------------------------------------------------------------------


class FieldChange(Model):
    """One correction the subject asks for: the field, the right value, and their evidence."""

    field: RectifiableField
    new_value: str = Field(min_length=1, max_length=254)
    evidence: str | None = Field(default=None, max_length=2000)


class RequestDetails(Model):
    """What a request asks for beyond the subject, per kind (empty for access and objection)."""

    changes: list[FieldChange] = Field(default_factory=list, max_length=20)
    restrict_while_checking: bool = False
    restriction_ground: RestrictionGround | None = None
    # Access, portability: the subject wants the answer somewhere else than their own digital
    # mailbox or population-register address (another address, an e-mail, a representative):
    # it could reach someone else, so identity must be proven first and a handler hands it over.
    deliver_elsewhere: bool = False


class SubmitRequestInput(Model):
    kind: Kind
    # Every GDPR kind has a subject; a public-access request has none (anyone may ask).
    subject_id: SubjectId | None = None
    received_at: AwareDatetime
    channel: Channel = Channel.E_SERVICE
    verified_by: IdentityMethod | None = None
    eid_order_ref: str | None = Field(default=None, max_length=128)
    assignee: HandlerId | None = None
    details: RequestDetails = Field(default_factory=RequestDetails)
    public: PublicRequest | None = None

    @model_validator(mode="after")
    def _subject_or_public(self) -> SubmitRequestInput:
        if self.kind is Kind.PUBLIC_ACCESS:
            if self.subject_id is not None or self.verified_by is not None:
                raise ValueError(
                    "a public-access request takes no identity number: anyone may ask, and "
                    "needs not say who they are"
                )
            if self.public is None:
                raise ValueError("a public-access request needs its description and search")
        elif self.subject_id is None:
            raise ValueError(f"a {self.kind.value} request needs the subject's identity number")
        elif self.public is not None:
            raise ValueError(f"a {self.kind.value} request is about a person, not documents")
        return self


class SubmitRequestResult(Model):
    case_number: CaseNumber
    kind: Kind
    deadline: date
    received_at: AwareDatetime
    existing: bool


class RegisterCaseInput(Model):
    request: SubmitRequestInput
    intake_id: str


class OpenCaseResult(Model):
    case_number: CaseNumber
    deadline: date
    deadline_at: AwareDatetime  # the end of the deadline day, 23:59:59 Europe/Stockholm
    existing: bool


# --- the case ----------------------------------------------------------------------------


class CaseInput(Model):
    """What every case workflow starts with; the subject id travels only here and to activities."""

    case_number: CaseNumber
    kind: Kind
    subject_id: SubjectId | None = None  # None only for public access
    received_at: AwareDatetime
    deadline: date
    deadline_at: AwareDatetime
    channel: Channel
    verified_by: IdentityMethod | None = None
    eid_order_ref: str | None = None
    assignee: HandlerId | None = None
    details: RequestDetails = Field(default_factory=RequestDetails)
    public: PublicRequest | None = None  # public access only


class StepRecord(Model):
    state: CaseState
    action: str
    actor: str
    at: AwareDatetime
    detail: str | None = None  # why, where the step has a reason (a plan sent back or stopped)


class IdentityRecord(Model):
    method: IdentityMethod
    verified_by: str
    verified_at: AwareDatetime


class IdentityBasis(StrEnum):
    """Why no identity proof was asked for (Art. 12(2),(6), EDPB 01/2022 §§ 69-77): the answer
    goes where only the subject can receive it."""

    DIGITAL_MAILBOX = "digital_mailbox"  # the secure digital mailbox bound to the number
    REGISTERED_ADDRESS = "registered_address"  # a letter to the population-register address


class DeliveryRouteInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId


class DeliveryRoute(Model):
    """Where an answer can reach the subject and nobody else, from the digital mailbox
    provider and the population register (SPAR): no address or name, only whether."""

    digital_mailbox: bool
    registered_address: bool
    protected_identity: bool  # sekretessmarkering or skyddad folkbokföring in SPAR


class CollectionResult(Model):
    system: str
    ref: str
    tables: dict[str, int]
    found: bool
    protected_identity: bool


class ExtractResult(Model):
    version: int
    json_ref: str
    html_ref: str
    subject_found: bool
    rows: int
    systems: list[str]
    has_postal_address: bool = False
    # Further files delivered with it (the portability CSV bundle).
    extra_refs: list[str] = Field(default_factory=list)
    # The release policy when it was built (in history): "automatic" lets an e-ID-verified,
    # unprotected subject's extract go out without a handler's review.
    release_policy: str = "review"


class DeliveryReceipt(Model):
    method: DeliveryMethod
    location: str
    delivered_at: AwareDatetime
    delivered_by: str


class ErasureSummary(Model):
    """One table's fate in an erasure plan: rows erased now, or kept until dates, and why."""

    system: str
    table: str
    label: str
    action: str  # delete | anonymise | suppress (to a marketing block) | keep
    rows: int
    keep_from: date | None = None  # the earliest "kept until" among the rows
    keep_until: date | None = None  # the latest
    reason: str = ""
    # Why kept: accounting, years, meter_values (dated; the last in earlier plans);
    # running_contract, archive (no disposal rule), shared (undated). Empty for what is erased
    # now, and in plans made before it was recorded.
    rule: str = ""
    # The disposal rule (gallringsbeslut) of the document plan the rows go under (now, or when
    # their time comes); empty for a table no rule covers, and in plans made before.
    disposal: str = ""


class CaseStatus(Model):
    case_number: CaseNumber
    kind: Kind
    state: CaseState
    received_at: AwareDatetime
    deadline: date
    channel: Channel
    assignee: str | None
    escalation: Escalation
    identity: IdentityRecord | None
    steps: list[StepRecord]
    extract: ExtractResult | None
    delivery: DeliveryReceipt | None
    outcome: Outcome | None
    manual_handling_reason: str | None = None
    # No proof asked for: the answer goes where only the subject receives it (IdentityBasis).
    identity_basis: IdentityBasis | None = None
    # Per kind: what was applied where, who was told, what was decided.
    applied: dict[str, dict[str, int]] = Field(default_factory=dict)
    recipients_notified: list[str] = Field(default_factory=list)
    # Recipients a handler must tell by hand (Art. 19): unknown to the register, or a category.
    recipients_to_notify: list[str] = Field(default_factory=list)
    decision: str | None = None
    refusal_reason: str | None = None
    restriction_ground: RestrictionGround | None = None
    requested_fields: list[RectifiableField] = Field(default_factory=list)
    erasure_plan: list[ErasureSummary] = Field(default_factory=list)
    # The clock: the deadline above is the current one (after an extension or a pause).
    deadline_at: AwareDatetime | None = None
    original_deadline: date | None = None
    extension_reason: str | None = None
    pauses: list[PauseRecord] = Field(default_factory=list)
    escalations: list[EscalationRecord] = Field(default_factory=list)
    next_escalation: EscalationStep | None = None
    awaiting_clarification: bool = False
    waiting_for_systems: list[SystemWait] = Field(default_factory=list)
    # Cases handled together, e.g. a GDPR access case and a public-access case of one person.
    linked: list[str] = Field(default_factory=list)
    public: PublicAccessStatus | None = None


class CaseResult(Model):
    case_number: CaseNumber
    outcome: Outcome
    delivery: DeliveryReceipt | None


# --- handler actions (updates) ------------------------------------------------------------


class VerifyIdentityInput(HandlerAction):
    method: IdentityMethod
    handler: HandlerId
    # The day the subject supplied the proof (a letter's day of arrival, the visit): the pause
    # ends then, not the day a handler records it. None: today.
    supplied_on: date | None = None


class CloseUnverifiedInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class ApproveReleaseInput(HandlerAction):
    handler: HandlerId


class RequestChangesInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class RecordManualDeliveryInput(HandlerAction):
    handler: HandlerId
    note: Reason


class WithdrawInput(HandlerAction):
    """The subject (or a public-access requester) withdraws the request, at any time."""

    handler: HandlerId  # who recorded it
    # The day the withdrawal reached the company (a letter, a call); None: today.
    received_on: date | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RefuseInput(HandlerAction):
    """Art. 12(5): manifestly unfounded or excessive; the reason is required and sent."""

    handler: HandlerId
    reason: Reason


class DecideRectificationInput(HandlerAction):
    handler: HandlerId
    decision: RectificationDecision
    accepted_fields: list[RectifiableField] = Field(default_factory=list)
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RecordRestrictionGroundInput(HandlerAction):
    """The subject's answer to which ground of Art. 18(1) the restriction rests on."""

    handler: HandlerId
    ground: RestrictionGround
    received_on: date | None = None  # the day the answer arrived: the pause ends then


class LiftRestrictionInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class PrepareErasurePlanInput(HandlerAction):
    handler: HandlerId


class ApproveErasurePlanInput(HandlerAction):
    handler: HandlerId


class RejectErasurePlanInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class ActionResult(Model):
    case_number: CaseNumber
    state: CaseState


# --- activities ---------------------------------------------------------------------------


class RecordTransitionInput(Model):
    case_number: CaseNumber
    step: int  # the n-th transition of the case: the idempotency key of the trail row
    actor: str
    action: str
    from_state: CaseState | None
    to_state: CaseState
    assignee: str | None = None
    outcome: Outcome | None = None
    detail: str | None = Field(default=None, max_length=2000)


class ConfirmEidInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    order_ref: str


class EidConfirmation(Model):
    verified: bool
    verified_at: AwareDatetime | None


class PlanCollectionInput(Model):
    case_number: CaseNumber


class PlanCollectionResult(Model):
    systems: list[str]
    # The places an access answer also searches, read only (the document archive, the case
    # register); empty in plans recorded before they were searched.
    places: list[str] = Field(default_factory=list)
    # After this long waiting for a system, its case tells the assignee; None in histories from
    # before the notice existed (they keep their course: no timer).
    tell_assignee_after_seconds: int | None = None


class CollectInput(Model):
    case_number: CaseNumber
    system: str
    subject_id: SubjectId
    version: int


class BuildExtractInput(Model):
    case_number: CaseNumber
    version: int
    received_at: AwareDatetime
    channel: Channel
    collections: list[CollectionResult]


class DeliverInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    method: DeliveryMethod
    extract: ExtractResult
    actor: str


class SendNoticeInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    notice: str  # template name, e.g. "identity_not_verified"
    reason: str = ""
    # Values for the template (field names, counts, dates); never identity numbers.
    facts: dict[str, str] = Field(default_factory=dict)
    # Tells apart notices of one kind in one case (a second question for clarification).
    notice_key: str = ""


class SystemWriteInput(Model):
    case_number: CaseNumber
    system: str
    subject_id: SubjectId
    changes: dict[str, str] = Field(default_factory=dict)
    restricted: bool = False


class SystemWriteResult(Model):
    system: str
    tables: dict[str, int]
    recipients: list[str] = Field(default_factory=list)
    # Rectification: the corrected fields each recipient received (Art. 19), so each is told
    # only what it holds. Empty in results recorded before this existed: then every field.
    recipient_fields: dict[str, list[str]] = Field(default_factory=dict)
    # Recipients told which fields were corrected but not the new values: those of a one-off
    # disclosure (a new value would be a new disclosure), and everyone when the subject has
    # protected personal data (an address never goes into a recipient notice).
    values_withheld: list[str] = Field(default_factory=list)
    protected_identity: bool = False
    # Recipients known only as a category (Art. 19), whom a handler must tell.
    categories: list[str] = Field(default_factory=list)
    # Erasure: why the system stopped part-way (a foreign key the declarations miss), and the
    # tables erased before it did.
    blocked: str | None = None
    done_tables: list[str] = Field(default_factory=list)


class PlanErasureInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    today: date


class CheckErasurePlanInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    today: date
    plan_ref: str


class ErasurePlanCheck(Model):
    # What makes the approved plan outdated, per table, without row keys or values.
    changes: list[str] = Field(default_factory=list)


class ErasurePlanResult(Model):
    ref: str  # the full plan (with row keys) in the extract store; history keeps the summary
    items: list[ErasureSummary]


class ExecuteErasureInput(Model):
    case_number: CaseNumber
    system: str
    subject_id: SubjectId
    plan_ref: str


class EraseDueInput(Model):
    case_number: CaseNumber
    system: str
    subject_id: SubjectId
    today: date
    plan_ref: str = ""  # only rows the approved plan kept may be erased later
    # A disposal decision (gallringsbeslut) covers the archived rows: they go now.
    dispose_archived: bool = False


# Undated reasons to keep that end by themselves (a contract ends) or by a decision (the
# archive's disposal decision); rows kept because they are someone else's too are not followed.
FOLLOWED_UNDATED = ("running_contract", "archive")


class EraseDueResult(Model):
    system: str
    erased: dict[str, int]
    next_due: date | None  # the first day something kept may go, if any has a date
    # Undated reasons approved rows are still kept for: running_contract, archive.
    waiting: list[str] = Field(default_factory=list)
    # Who received the rows erased in this run (Art. 19), as the approved plan recorded it,
    # and the recipients known only as a category, for a handler.
    recipients: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


class RetentionFollowUpInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    next_due: date
    # The approved plan; empty in follow-ups started before plans were passed on, which then
    # erase nothing (nothing unapproved may go) and end.
    plan_ref: str = ""
    runs: int = 0  # carried over continue-as-new: numbers the trail rows
    # Carried over continue-as-new: the undated reasons rows were still kept for at the last
    # run, and whether the DPO has been asked for a disposal decision on archived rows.
    waiting: list[str] = Field(default_factory=list)
    dpo_told: bool = False
    erased: dict[str, int] = Field(default_factory=dict)
    disposal_reference: str | None = None


class RetentionFollowUpResult(Model):
    case_number: CaseNumber
    runs: int
    erased: dict[str, int]
    disposal_reference: str | None = None


class RecordDisposalDecisionInput(HandlerAction):
    """The archive's disposal decision (gallringsbeslut) that lets the archived rows go."""

    handler: HandlerId
    reference: Reason  # the decision's reference, e.g. its diary number


class FollowUpStatus(Model):
    case_number: CaseNumber
    runs: int
    next_due: date | None
    waiting: list[str]
    erased: dict[str, int]
    disposal_reference: str | None


class RestrictionHoldInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    hold: bool  # True: this case holds the restriction; False: it releases its hold


class RestrictionHoldResult(Model):
    holds_remaining: int  # the subject's holds after this change, all cases together


class RecordEventInput(Model):
    """A trail row that does not move the case's state (e.g. a later erasure run)."""

    case_number: CaseNumber
    key: int  # unique per case: a retry writes once
    actor: str
    action: str
    detail: str | None = None


class NotifyRecipientInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    recipient: str
    notice: str  # "rectification" (Art. 19) or "objection" (Art. 21(3))
    fields: list[str] = Field(default_factory=list)
    # Rectification: the corrected values of `fields`, so the recipient can correct its copy.
    changes: dict[str, str] = Field(default_factory=dict)
    # Tells apart notices of one kind in one case (an erasure follow-up's runs).
    notice_key: str = ""


class NotifyStaffInput(Model):
    case_number: CaseNumber
    kind: Kind
    role: str  # "dpo", "team_lead", "assignee"
    event: str
    deadline: date | None = None  # none for the retention follow-up: the case is answered
    assignee: str | None = None  # the handler id, for the assignee's address
    notice_key: str = ""  # tells apart the same event for a new deadline (after an extension)
    detail: str = ""  # what the event concerns, without personal data (system names)


class NoticeReceipt(Model):
    location: str
    sent_at: datetime
    # A recipient notice (Art. 19): False when the recipient is not in the recipients register,
    # so the notice could go nowhere and a handler must send it.
    reached: bool = True


# --- public access: locating, the secrecy review, the decision, the appeal ---------------------


# Each ground as the requester reads it: the provision's own words, with its place in the law.
SECRECY_GROUNDS_SV: dict[SecrecyGround, str] = {
    SecrecyGround.PROTECTED_IDENTITY: (
        "uppgift om en enskilds identitet, adress och andra liknande uppgifter om den enskilde, "
        "om det av särskild anledning kan antas att den enskilde eller någon närstående till "
        "denne kan komma att utsättas för hot eller våld eller lida annat allvarligt men om "
        "uppgiften röjs (21 kap. 3 § offentlighets- och sekretesslagen, skyddade "
        "personuppgifter)"
    ),
    SecrecyGround.PERSONAL_INTEGRITY: (
        "personuppgift, om det kan antas att uppgiften efter ett utlämnande kommer att "
        "behandlas i strid med dataskyddsförordningen (21 kap. 7 § offentlighets- och "
        "sekretesslagen)"
    ),
    SecrecyGround.BUSINESS_RELATIONS: (
        "uppgift om en enskilds affärs- eller driftförhållanden hos den som har trätt i "
        "affärsförbindelse med bolaget, om det kan antas att den enskilde lider skada om "
        "uppgiften röjs (31 kap. 16 § offentlighets- och sekretesslagen)"
    ),
    SecrecyGround.OWN_BUSINESS: (
        "uppgift om bolagets affärs- eller driftförhållanden, där bolaget bedriver "
        "verksamhet i konkurrens med andra, om det kan antas att bolaget lider skada om "
        "uppgiften röjs (19 kap. 1 § offentlighets- och sekretesslagen)"
    ),
    SecrecyGround.SECURITY: (
        "uppgift som lämnar eller kan bidra till upplysning om säkerhets- eller "
        "bevakningsåtgärd som avser byggnader eller andra anläggningar, här elnätets och "
        "stadsnätets stationer, noder och ledningar, om det kan antas att syftet med åtgärden "
        "motverkas om uppgiften röjs (18 kap. 8 § offentlighets- och sekretesslagen)"
    ),
    SecrecyGround.RISK_ANALYSIS: (
        "uppgift i en risk- och sårbarhetsanalys eller i planeringen inför fredstida "
        "krissituationer, om det kan antas att syftet med analysen eller planeringen motverkas "
        "om uppgiften röjs (18 kap. 13 § offentlighets- och sekretesslagen)"
    ),
}


class CandidateDocument(Model):
    """A document a search found: enough to confirm the list, not its text."""

    document_id: int
    type: str
    date: date
    title: str
    pages: int


class LocateDocumentsInput(Model):
    case_number: CaseNumber
    query: DocumentQuery


class LocateDocumentsResult(Model):
    documents: list[CandidateDocument]
    truncated: bool = False  # more matched than a search returns: narrow it


class SearchAgainInput(HandlerAction):
    handler: HandlerId
    query: DocumentQuery


class ConfirmDocumentsInput(HandlerAction):
    handler: HandlerId
    # The documents the request covers, from the search's candidates; none: nothing the
    # company holds matches, and the requester is told so.
    document_ids: list[int] = Field(default_factory=list, max_length=200)


class Mask(Model):
    """A part of a document's text not to be released, and the ground for it."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    ground: SecrecyGround


class ReviewDocumentInput(HandlerAction):
    """One document's secrecy review. A withheld document is named in the answer by its
    title: `masks` then name the parts of the title that are secret too."""

    handler: HandlerId
    document_id: int
    decision: ReviewDecision
    masks: list[Mask] = Field(default_factory=list, max_length=50)
    ground: SecrecyGround | None = None  # withhold: why the whole document is secret

    @model_validator(mode="after")
    def _grounds_fit(self) -> ReviewDocumentInput:
        if self.decision is ReviewDecision.MASK and not self.masks:
            raise ValueError("mask: name each part to mask, with its ground")
        if self.decision is ReviewDecision.RELEASE and self.masks:
            raise ValueError(f"{self.decision.value}: masks belong to a mask decision")
        if self.decision is ReviewDecision.WITHHOLD and self.ground is None:
            raise ValueError("withhold: give the legal ground (e.g. OSL 31:16)")
        if self.decision is not ReviewDecision.WITHHOLD and self.ground is not None:
            raise ValueError(f"{self.decision.value}: a ground belongs to a withheld document")
        return self

    @property
    def grounds(self) -> list[SecrecyGround]:
        found = [mask.ground for mask in self.masks] + ([self.ground] if self.ground else [])
        return sorted(set(found), key=found.index)


class CheckMasksInput(Model):
    case_number: CaseNumber
    document_id: int
    title: str  # masks apply to the title as well as the text
    masks: list[Mask]
    # A withheld document: its text is not released, only its title is named (masked).
    title_only: bool = False


class CheckMasksResult(Model):
    # Each mask's text, in order, found this many times in the document.
    found: list[int]


class DocumentReview(Model):
    """The secrecy review of one document, as status shows it: the grounds, never the masked
    text itself (that is the secret)."""

    document_id: int
    title: str
    decision: ReviewDecision
    grounds: list[SecrecyGround] = Field(default_factory=list)
    masked_parts: int = 0
    reviewed_by: str
    reviewed_at: AwareDatetime


class PrepareCopiesInput(Model):
    case_number: CaseNumber
    documents: list[CandidateDocument]
    reviews: list[ReviewDocumentInput]
    sender: str | None = None
    decision_request_days: int = 30  # how long the requester may ask for a formal decision


class CopiesResult(Model):
    """Copies of the released documents with masks applied, and the cover letter, in the
    extract store; the fee follows the fee schedule."""

    letter_ref: str
    copy_refs: list[str]
    pages: int
    fee_sek: int
    released: list[int]
    withheld: list[int]


class DeliverPublicInput(Model):
    case_number: CaseNumber
    contact: Contact | None
    what: str  # "copies", "decision", "appeal_dismissed"
    refs: list[str]


class PublicAccessTerms(Model):
    """The settings a public-access case runs by, read once (so they are in its history)."""

    decision_request_days: int  # how long a requester may ask for a formal decision
    appeal_weeks: int  # the appeal period, from the day the decision was received
    late_appeal_days: int  # how long after it the case stays open for appeals still coming in
    court: str
    # How long a decision sent by letter waits for its receipt to be shown before the case
    # closes with the decision sent but not final (terms read before this existed: 90).
    receipt_wait_days: int = 90


class PublicAccessTermsInput(Model):
    case_number: CaseNumber


class RequestFormalDecisionInput(HandlerAction):
    handler: HandlerId  # who took the requester's request for a formal decision


class DelegationInput(Model):
    case_number: CaseNumber
    at: AwareDatetime  # who holds delegated authority at this moment (its Stockholm day)


class DelegationResult(Model):
    # Handler id -> the point of the delegation order that gives them the authority.
    delegates: dict[str, str]


class RosterInput(Model):
    case_number: str  # a case number, or a case's follow-up id
    at: AwareDatetime  # whose roles at this moment (its Stockholm day)


class RefreshRosterInput(HandlerAction):
    """Have a case read the staff roster anew, for someone given a role since it last did."""

    handler: HandlerId


class RosterResult(Model):
    # Handler id (casefolded) -> roles that day; empty with `problem` set when the roster or
    # the delegation register cannot be read.
    staff: dict[str, list[Role]] = {}
    problem: str | None = None


class FormalDecisionInput(HandlerAction):
    handler: HandlerId  # the decision maker: must hold delegated authority


class IssueDecisionInput(Model):
    case_number: CaseNumber
    decided_by: str
    delegation: str
    documents: list[CandidateDocument]
    reviews: list[ReviewDocumentInput]
    court: str
    appeal_weeks: int
    sender: str | None = None


class IssuedDecision(Model):
    ref: str


class WithdrawalLetterInput(Model):
    case_number: CaseNumber
    received_on: date
    sender: str | None = None


class AppealWindowInput(Model):
    case_number: CaseNumber
    # When the decision went out (e-mail, or handed over): received that day, in Stockholm.
    sent_at: AwareDatetime
    # The day the requester received it, when known to be later (a letter takes days).
    received_on: date | None = None
    weeks: int
    late_days: int


class AppealWindow(Model):
    """The appeal period: the day the decision was received, the period's last day (Lag
    1930:173), the end of that day, and when the case stops waiting for appeals registered
    late."""

    received_on: date
    last_day: date
    ends_at: AwareDatetime
    closes_at: AwareDatetime


class RecordDecisionReceiptInput(HandlerAction):
    """The day a formal decision sent by letter reached the requester, and how that is shown."""

    handler: HandlerId
    received_on: date
    evidence: Reason  # e.g. "Mottagningsbevis undertecknat 2026-12-03"


class RegisterAppealInput(HandlerAction):
    handler: HandlerId
    received_on: date  # the day the appeal reached the company: decides whether it is in time
    # The day it reached the administrative court, when it was lodged there by mistake and sent
    # on: in time there, it is never dismissed (FL 45 § second paragraph).
    court_received_on: date | None = None
    # The day the requester received the decision, if later than the day it was sent (a
    # decision sent by letter): the appeal period runs from then.
    decision_received_on: date | None = None

    @model_validator(mode="after")
    def _in_order(self) -> RegisterAppealInput:
        if self.decision_received_on and self.decision_received_on > self.received_on:
            raise ValueError("the appeal came in before the decision was received")
        return self


class AppealInput(Model):
    case_number: CaseNumber
    received_on: date
    window_end: date | None  # None: the decision's receipt was never shown
    timely: bool
    court: str
    decision_ref: str
    # Why in time beyond the period: reached_court_in_time, receipt_not_shown; "" plainly.
    basis: str = ""
    # The documents the decision concerns (withheld or masked): sent to the court (FL 46 §).
    documents: list[int] = Field(default_factory=list)


class AppealResult(Model):
    ref: str  # the forwarding letter to the court, or the dismissal decision


class AppealRecord(Model):
    received_on: date
    registered_by: str
    timely: bool
    ref: str
    period_end: date | None = None  # the last day it could come in, by which it was judged
    basis: str = ""  # reached_court_in_time, receipt_not_shown: why not dismissed


class PublicAccessStatus(Model):
    """A public-access case as status shows it: what was asked, found, decided, appealed."""

    sender: str  # the name given, or "anonymous"
    description: str
    contact: bool  # whether copies can be sent (the contact itself is not shown)
    candidates: list[CandidateDocument]
    truncated: bool = False
    confirmed: list[int] = Field(default_factory=list)
    reviews: list[DocumentReview] = Field(default_factory=list)
    pages: int | None = None
    fee_sek: int | None = None
    # Where the prepared letter and copies are in the extract store (sealed): what the
    # requester receives, for the handler's preview.
    letter_ref: str | None = None
    copy_refs: list[str] = Field(default_factory=list)
    formal_decision_by: str | None = None
    # A decision sent by letter whose day of receipt is not yet shown: the period has not begun.
    receipt_pending: bool = False
    decision_received_on: date | None = None
    appeal_window_end: date | None = None
    appeal: AppealRecord | None = None


class LinkCaseInput(HandlerAction):
    handler: HandlerId
    other: CaseNumber


# --- the extract store: deleting what was delivered -----------------------------------------


class ExtractDisposalInput(Model):
    case_number: CaseNumber
    closed_at: AwareDatetime  # the case closed (the answer went out) at this moment


class DisposalDueInput(Model):
    case_number: CaseNumber
    closed_at: AwareDatetime


class DisposalDue(Model):
    at: AwareDatetime
    days: int


class DeleteExtractsInput(Model):
    case_number: CaseNumber


class DeleteExtractsResult(Model):
    files: int


class ExtractDisposalResult(Model):
    case_number: CaseNumber
    deleted_at: AwareDatetime
    files: int
