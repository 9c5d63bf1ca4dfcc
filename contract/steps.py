"""The inputs and results of the activities every kind shares: the register's trail, e-ID
confirmation, collection and extracts, delivery, system writes, notices and restriction holds.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, Field

from contract.base import CaseNumber, Model, SubjectId
from contract.case import CaseState, CollectionResult, DeliveryMethod, ExtractResult, Outcome
from contract.vocabulary import Channel, Kind

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
