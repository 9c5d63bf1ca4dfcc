"""Payloads of workflows, activities, updates and queries (pydantic v2, sandbox-safe, no I/O).

One input model per call, named `<Verb>Input`, results `<Noun>Result`, so that fields with
defaults can be added later without breaking running cases.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

CASE_NUMBER_PATTERN = r"^DSR-\d{4}-\d{6}$"

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


class Kind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    ERASURE = "erasure"
    PORTABILITY = "portability"


class RectifiableField(StrEnum):
    NAME = "name"
    STREET = "street"
    POSTAL_CODE = "postal_code"
    CITY = "city"
    EMAIL = "email"
    PHONE = "phone"


# The fields as a Swedish letter names them.
FIELDS_SV: dict[str, str] = {
    "name": "namn",
    "street": "gatuadress",
    "postal_code": "postnummer",
    "city": "ort",
    "email": "e-postadress",
    "phone": "telefonnummer",
}


class RestrictionGround(StrEnum):
    """Art. 18(1): the four grounds on which a subject may have processing restricted."""

    ACCURACY_CONTESTED = "a"
    UNLAWFUL_NO_ERASURE = "b"
    NEEDED_FOR_LEGAL_CLAIMS = "c"
    OBJECTION_PENDING = "d"


class RectificationDecision(StrEnum):
    ACCEPT = "accept"
    PARTLY = "partly"
    REJECT = "reject"


class Channel(StrEnum):
    E_SERVICE = "e-service"
    LETTER = "letter"
    EMAIL = "email"
    PHONE = "phone"
    IN_PERSON = "in-person"


class IdentityMethod(StrEnum):
    BANKID = "bankid"
    SIGNED_LETTER = "signed_letter"
    ID_CHECKED = "id_checked"
    REGISTERED_CONTACT = "registered_contact"


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


class DeliveryMethod(StrEnum):
    DIGITAL_MAILBOX = "digital_mailbox"
    LETTER = "letter"
    MANUAL = "manual"


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


class ExtendInput(Model):
    """Art. 12(3): two more months, with the reasons told to the subject before the deadline."""

    handler: HandlerId
    reason: Reason
    # The handler has told the subject the reasons and the new deadline by letter or phone
    # (no digital mailbox); otherwise the engine tells them as part of the extension.
    told_outside: bool = False


class AskClarificationInput(Model):
    """The handler needs the subject to clarify the request; the question goes to them."""

    handler: HandlerId
    question: Reason


class RecordClarificationInput(Model):
    handler: HandlerId


class ReassignInput(Model):
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


class SubmitRequestInput(Model):
    kind: Kind
    subject_id: SubjectId
    received_at: AwareDatetime
    channel: Channel = Channel.E_SERVICE
    verified_by: IdentityMethod | None = None
    eid_order_ref: str | None = Field(default=None, max_length=128)
    assignee: HandlerId | None = None
    details: RequestDetails = Field(default_factory=RequestDetails)


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
    subject_id: SubjectId
    received_at: AwareDatetime
    deadline: date
    deadline_at: AwareDatetime
    channel: Channel
    verified_by: IdentityMethod | None = None
    eid_order_ref: str | None = None
    assignee: HandlerId | None = None
    details: RequestDetails = Field(default_factory=RequestDetails)


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
    # Why kept: accounting, meter_values (dated); running_contract, archive, shared (undated).
    # Empty for what is erased now, and in plans made before it was recorded.
    rule: str = ""


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
    # Per kind: what was applied where, who was told, what was decided.
    applied: dict[str, dict[str, int]] = Field(default_factory=dict)
    recipients_notified: list[str] = Field(default_factory=list)
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


class CaseResult(Model):
    case_number: CaseNumber
    outcome: Outcome
    delivery: DeliveryReceipt | None


# --- handler actions (updates) ------------------------------------------------------------


class VerifyIdentityInput(Model):
    method: IdentityMethod
    handler: HandlerId


class CloseUnverifiedInput(Model):
    handler: HandlerId
    reason: Reason


class ApproveReleaseInput(Model):
    handler: HandlerId


class RequestChangesInput(Model):
    handler: HandlerId
    reason: Reason


class RecordManualDeliveryInput(Model):
    handler: HandlerId
    note: Reason


class RefuseInput(Model):
    """Art. 12(5): manifestly unfounded or excessive; the reason is required and sent."""

    handler: HandlerId
    reason: Reason


class DecideRectificationInput(Model):
    handler: HandlerId
    decision: RectificationDecision
    accepted_fields: list[RectifiableField] = Field(default_factory=list)
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class LiftRestrictionInput(Model):
    handler: HandlerId
    reason: Reason


class PrepareErasurePlanInput(Model):
    handler: HandlerId


class ApproveErasurePlanInput(Model):
    handler: HandlerId


class RejectErasurePlanInput(Model):
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
    # Who received the rows erased in this run (Art. 19), as the approved plan recorded it.
    recipients: list[str] = Field(default_factory=list)


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


class RecordDisposalDecisionInput(Model):
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


class NoticeReceipt(Model):
    location: str
    sent_at: datetime
