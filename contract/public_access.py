"""Public access after the request: locating documents, the secrecy review, the decision, the
appeal and the case's status.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from contract.base import CaseNumber, HandlerAction, HandlerId, Model, Reason
from contract.public_request import Contact, DocumentQuery
from contract.vocabulary import ReviewDecision, SecrecyGround

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
