"""A case and its clock: states, outcomes, the escalation ladder, pauses and extensions, the
case's start input, its status and its result.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from contract.base import CaseNumber, HandlerAction, HandlerId, Model, Reason, SubjectId
from contract.intake import RequestDetails
from contract.public_access import PublicAccessStatus
from contract.public_request import PublicRequest
from contract.vocabulary import Channel, IdentityMethod, Kind, RectifiableField, RestrictionGround


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
