"""A request for official documents (offentlighetsprincipen): its state, patches and ladder, and
the helpers its handlers' actions and its steps share. The actions are in
workflows/public_review.py, the steps in workflows/public_access.py.
"""

from __future__ import annotations

from datetime import date, datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contract.actions import ApproveReleaseInput
from contract.case import CaseInput, CaseState, Escalation
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.public_access import (
    AppealRecord,
    AppealWindow,
    AppealWindowInput,
    CandidateDocument,
    ConfirmDocumentsInput,
    CopiesResult,
    DocumentReview,
    FormalDecisionInput,
    PublicAccessStatus,
    PublicAccessTerms,
    RecordDecisionReceiptInput,
    RegisterAppealInput,
    RequestFormalDecisionInput,
    ReviewDocumentInput,
    SearchAgainInput,
)
from contract.public_request import PublicRequest
from contract.roster import DelegationInput
from contract.vocabulary import ReviewDecision
from workflows.case.state import WrongState
from workflows.case.workflow import CaseBase

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import DeadlineActivities
    from activities.public_access import PublicAccessActivities


ANONYMOUS = "anonymous"


# Patch id: the copies wait for a handler who has seen exactly what will go out.
COPIES_PREVIEW_PATCH = "copies-preview"


# Patch id: a decision sent by letter waits for its day of receipt to be shown (FL 44 §).
APPEAL_RECEIPT_PATCH = "appeal-receipt"


def timeliness(appeal: RegisterAppealInput, window: AppealWindow | None) -> tuple[bool, str]:
    """Whether an appeal is in time, and on what basis beyond the plain period (FL 44-45 §§):
    it came in within the period; it reached the court within it (never dismissed, FL 45 §
    second paragraph); or the day the decision was received cannot be shown, so the period
    cannot be said to have ended (not dismissed as late)."""
    if window is None:
        return True, "receipt_not_shown"
    if appeal.received_on <= window.last_day:
        return True, ""
    if appeal.court_received_on is not None and appeal.court_received_on <= window.last_day:
        return True, "reached_court_in_time"
    return False, ""


# The decision is made once the review is done and the answer goes out: the clock stops
# there, and starts again only if the requester asks for a formal decision.
DECIDED = frozenset(
    {
        CaseState.DELIVERING,
        CaseState.AWAITING_MANUAL_DELIVERY,
        CaseState.AWAITING_DECISION_REQUEST,
        CaseState.AWAITING_APPEAL,
        CaseState.CLOSED,
    }
)


# Skyndsamt: the handler is reminded the day a decision is due; the team lead is told when a
# working day has passed without one, and told again (overdue) after three.
PUBLIC_LADDER_NOTICES = {
    Escalation.REMINDED: (("assignee", "public_reminder"),),
    Escalation.ESCALATED: (("assignee", "public_escalated"), ("team_lead", "public_escalated")),
    Escalation.OVERDUE: (("team_lead", "public_overdue"),),
}


class PublicAccessCase(CaseBase):
    """A public-access case's state and the rules its handlers' actions are judged by."""

    PATCHES = (*CaseBase.PATCHES, COPIES_PREVIEW_PATCH, APPEAL_RECEIPT_PATCH)

    ANSWERED_STATES = DECIDED

    LADDER_NOTICES = PUBLIC_LADDER_NOTICES

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        super().__init__(case)
        if case.public is None:
            raise ApplicationError("a public-access case needs its request", non_retryable=True)
        self._request: PublicRequest = case.public
        self._terms: PublicAccessTerms | None = None
        self._candidates: list[CandidateDocument] = []
        self._truncated = False
        self._choice: ConfirmDocumentsInput | SearchAgainInput | None = None
        self._documents: list[CandidateDocument] = []
        self._reviews: dict[int, ReviewDocumentInput] = {}
        self._reviewed: dict[int, DocumentReview] = {}
        self._checking: set[int] = set()
        self._copies: CopiesResult | None = None
        self._formal_request: RequestFormalDecisionInput | None = None
        self._delegates: dict[str, str] = {}
        self._formal: FormalDecisionInput | None = None
        self._decided_by: str | None = None
        self._window: AppealWindow | None = None
        self._appeal: RegisterAppealInput | None = None
        self._appeal_window_used: AppealWindow | None = None
        self._decision_sent_at: datetime | None = None
        self._appeal_record: AppealRecord | None = None
        # The preview of the copies: released by a handler, or a review changed meanwhile.
        self._copies_released: ApproveReleaseInput | None = None
        self._revised = False
        # A decision sent by letter: its day of receipt waits to be shown.
        self._receipt_pending = False
        self._receipt: RecordDecisionReceiptInput | None = None

    def _has_stored_files(self) -> bool:
        return self._copies is not None

    def _refused(self) -> bool:
        """Anything not released as it stands: a withheld document or a masked part."""
        return any(r.decision is not ReviewDecision.RELEASE for r in self._reviews.values())

    def _title(self, document_id: int) -> str:
        return next(d.title for d in self._documents if d.document_id == document_id)

    async def _appeal_window(self, *, received_on: date | None = None) -> AppealWindow:
        """The appeal period from the decision sent now, or received on `received_on`."""
        terms = self._terms
        assert terms is not None
        return await workflow.execute_activity_method(
            DeadlineActivities.appeal_window,
            AppealWindowInput(
                case_number=self._case.case_number,
                sent_at=self._decision_sent_at or workflow.now(),
                received_on=received_on,
                weeks=terms.appeal_weeks,
                late_days=terms.late_appeal_days,
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    async def _load_delegates(self) -> None:
        """Who holds delegated authority now, from the delegation register."""
        delegation = await workflow.execute_activity_method(
            PublicAccessActivities.delegations,
            DelegationInput(case_number=self._case.case_number, at=workflow.now()),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        self._delegates = delegation.delegates

    async def _require_delegate(self, handler: str, what: str) -> None:
        await self._load_delegates()
        if handler not in self._delegates:
            raise self._no_delegation(handler, what)

    def _closed_meanwhile(self) -> WrongState:
        return WrongState(
            f"case {self._case.case_number} closed while the appeal was registered; register "
            "it as a new case"
        )

    def _no_delegation(self, handler: str, what: str) -> WrongState:
        return WrongState(
            f"case {self._case.case_number}: {handler} holds no delegated authority to {what} "
            "(see the delegation register)"
        )

    def _refusal_blocked(self) -> str | None:
        return (
            "a public-access request is not refused as excessive: decide per document in the "
            "secrecy review"
        )

    def _public_status(self) -> PublicAccessStatus:
        copies = self._copies
        return PublicAccessStatus(
            sender=self._request.sender or ANONYMOUS,
            description=self._request.description,
            contact=self._request.contact is not None,
            candidates=list(self._candidates),
            truncated=self._truncated,
            confirmed=[d.document_id for d in self._documents],
            reviews=[
                self._reviewed[d.document_id]
                for d in self._documents
                if d.document_id in self._reviewed
            ],
            pages=copies.pages if copies else None,
            fee_sek=copies.fee_sek if copies else None,
            letter_ref=copies.letter_ref if copies else None,
            copy_refs=list(copies.copy_refs) if copies else [],
            formal_decision_by=self._decided_by,
            receipt_pending=self._receipt_pending,
            decision_received_on=self._window.received_on if self._window else None,
            appeal_window_end=self._window.last_day if self._window else None,
            appeal=self._appeal_record,
        )
