"""A request for official documents (offentlighetsprincipen, TF 2 kap.): anyone may ask,
anonymously; each document is reviewed for secrecy before anything is released."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from contract.actions import ActionResult, ApproveReleaseInput
from contract.case import (
    CaseInput,
    CaseResult,
    CaseState,
    DeliveryMethod,
    DeliveryReceipt,
    Escalation,
    Outcome,
)
from contract.handling import (
    APPROVE_RELEASE,
    CONFIRM_DOCUMENTS,
    MAKE_FORMAL_DECISION,
    RECORD_DECISION_RECEIPT,
    REGISTER_APPEAL,
    REQUEST_FORMAL_DECISION,
    REVIEW_DOCUMENT,
    SEARCH_AGAIN,
)
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.public_access import (
    AppealInput,
    AppealRecord,
    AppealWindow,
    AppealWindowInput,
    CandidateDocument,
    CheckMasksInput,
    ConfirmDocumentsInput,
    CopiesResult,
    DeliverPublicInput,
    DocumentReview,
    FormalDecisionInput,
    IssueDecisionInput,
    LocateDocumentsInput,
    PrepareCopiesInput,
    PublicAccessStatus,
    PublicAccessTerms,
    PublicAccessTermsInput,
    RecordDecisionReceiptInput,
    RegisterAppealInput,
    RequestFormalDecisionInput,
    ReviewDocumentInput,
    SearchAgainInput,
    WithdrawalLetterInput,
)
from contract.public_request import DocumentQuery, PublicRequest
from contract.roster import DelegationInput
from contract.vocabulary import ReviewDecision
from workflows.case.state import ENGINE, WrongState
from workflows.case.workflow import CaseBase

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import DeadlineActivities
    from activities.public_access import PublicAccessActivities

ANONYMOUS = "anonymous"
# Patch id: the copies wait for a handler who has seen exactly what will go out.
COPIES_PREVIEW_PATCH = "copies-preview"
# Patch id: a decision sent by letter waits for its day of receipt to be shown (FL 44 §).
APPEAL_RECEIPT_PATCH = "appeal-receipt"
RELEASED = ReviewDecision.RELEASE


def _timeliness(appeal: RegisterAppealInput, window: AppealWindow | None) -> tuple[bool, str]:
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


@workflow.defn
class PublicAccessWorkflow(CaseBase):
    """A request for official documents, from locating them to release, decision and appeal.

    registered -> locating -> awaiting_confirmation -> secrecy_review -> delivering
    (or awaiting_manual_delivery, without a contact) -> closed when all is released; else
    awaiting_decision_request -> closed, or, when the requester asks for one,
    awaiting_formal_decision -> delivering (the decision) -> awaiting_appeal -> closed.

    Updates, beyond `reassign`, `link` and `record_manual_delivery` of every case:
    - `search_again` (awaiting_confirmation): another search; the handler confirms again.
    - `confirm_documents` (awaiting_confirmation): the documents the request covers; none if
      the company holds nothing that matches (the requester is told so, outcome
      no_documents).
    - `review_document` (secrecy_review, per confirmed document, changeable until the last
      is reviewed): release, mask (each part with its OSL ground; each part must occur in the
      title or text) or withhold (with its ground; parts of the title may be masked too, as
      the answer names a withheld document by its title). When every document is reviewed,
      copies with the masked parts removed go out with the fee and, for anything refused, the
      right to ask for a formal decision.
    - `request_formal_decision` (awaiting_decision_request, for a configured number of days):
      the clock starts again.
    - `make_formal_decision` (awaiting_formal_decision): only someone holding delegated
      authority (the delegation register); the decision states the grounds per document and
      how to appeal, and the appeal period (Lag 1930:173) starts on the day it is received.
    - `register_appeal` (awaiting_appeal, until the period and the late days have passed): in
      time (by the day it came in) it is forwarded to the court; too late, it is dismissed.
    Public-access requests are never extended, paused or refused as excessive.
    Outcomes: released, partly_released, withheld, no_documents, decision_final,
    appeal_forwarded, appeal_dismissed.
    """

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

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await self._withdrawable(self._handle(case))

    async def _handle(self, case: CaseInput) -> CaseResult:
        self._terms = await workflow.execute_activity_method(
            PublicAccessActivities.public_access_terms,
            PublicAccessTermsInput(case_number=case.case_number),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        confirmed = await self._locate_and_confirm()
        await self._enter(
            CaseState.SECRECY_REVIEW,
            actor=confirmed.handler,
            action="confirm_documents",
            detail=f"{len(self._documents)} documents",
        )
        await workflow.wait_condition(
            lambda: len(self._reviews) == len(self._documents) and not self._checking
        )
        previewed = workflow.patched(COPIES_PREVIEW_PATCH)
        while True:
            last = max(self._reviewed.values(), key=lambda r: r.reviewed_at, default=None)
            copies = self._copies = await self._prepare_copies()
            actor = last.reviewed_by if last else confirmed.handler
            if not previewed:  # cases from before the preview sent the copies as prepared
                action = "secrecy_review_done"
                break
            # The handler sees exactly what the requester will receive before it goes; a
            # review changed meanwhile makes the copies again, to be looked at again.
            self._revised = False
            await self._enter(CaseState.AWAITING_REVIEW, actor=actor, action="copies_prepared")
            await workflow.wait_condition(
                lambda: self._copies_released is not None or (self._revised and not self._checking)
            )
            if self._copies_released is not None:
                actor, action = self._copies_released.handler, "approve_release"
                break
        refs = [copies.letter_ref, *copies.copy_refs]
        await self._send_to_requester("copies", refs, actor=actor, action=action)
        if not self._documents:
            return await self._close(Outcome.NO_DOCUMENTS, actor=ENGINE, action="answered")
        if not self._refused():
            return await self._close(Outcome.RELEASED, actor=ENGINE, action="released")
        return await self._after_refusal(copies)

    # --- updates ---------------------------------------------------------------------------

    @workflow.update(name=SEARCH_AGAIN.update)
    async def search_again(self, action: SearchAgainInput) -> ActionResult:
        await self._take_decision_for(SEARCH_AGAIN, action.handler)
        self._choice = action
        return await self._after(CaseState.AWAITING_CONFIRMATION)

    @search_again.validator
    def _validate_search_again(self, action: SearchAgainInput) -> None:
        self._check_decision(SEARCH_AGAIN, CaseState.AWAITING_CONFIRMATION, action.handler)

    @workflow.update(name=CONFIRM_DOCUMENTS.update)
    async def confirm_documents(self, action: ConfirmDocumentsInput) -> ActionResult:
        await self._take_decision_for(CONFIRM_DOCUMENTS, action.handler)
        self._choice = action
        return await self._after(CaseState.AWAITING_CONFIRMATION)

    @confirm_documents.validator
    def _validate_confirm_documents(self, action: ConfirmDocumentsInput) -> None:
        self._require_open(CaseState.AWAITING_CONFIRMATION, CONFIRM_DOCUMENTS.what)
        found = {c.document_id for c in self._candidates}
        if not action.document_ids and found:
            raise WrongState(
                f"case {self._case.case_number}: {len(found)} documents were found; confirm "
                "those the request covers (withhold any in the review), or search again"
            )
        missing = sorted(set(action.document_ids) - found)
        if missing:
            raise WrongState(
                f"case {self._case.case_number}: document {', '.join(map(str, missing))} is not "
                "among the documents found; search again to add it"
            )
        self._check_role(action.handler, CONFIRM_DOCUMENTS.role_action)

    @workflow.update(name=REVIEW_DOCUMENT.update)
    async def review_document(self, action: ReviewDocumentInput) -> ActionResult:
        # Held while the roster is read, so no other review of it, and no end of the review
        # step, comes in between.
        self._checking.add(action.document_id)
        try:
            await self._authorize(action.handler, REVIEW_DOCUMENT.role_action)
        finally:
            self._checking.discard(action.document_id)
        withheld = action.decision is ReviewDecision.WITHHOLD
        if action.masks:
            # The new review replaces the old at once: should its check fail, the document
            # waits for a review again rather than go out under the old decision.
            self._reviews.pop(action.document_id, None)
            self._reviewed.pop(action.document_id, None)
            # Each part to mask must be in the title or text: a typo would release it.
            self._checking.add(action.document_id)
            try:
                check = await workflow.execute_activity_method(
                    PublicAccessActivities.check_masks,
                    CheckMasksInput(
                        case_number=self._case.case_number,
                        document_id=action.document_id,
                        title=self._title(action.document_id),
                        masks=action.masks,
                        # A withheld document is named by its title only.
                        title_only=withheld,
                    ),
                    start_to_close_timeout=SHORT_TIMEOUT,
                    retry_policy=PERSISTENT,
                )
            finally:
                self._checking.discard(action.document_id)
            absent = [i + 1 for i, n in enumerate(check.found) if n == 0]
            if absent:
                where = "title" if withheld else "text"
                raise WrongState(
                    f"case {self._case.case_number}: document {action.document_id}: mask "
                    f"{', '.join(map(str, absent))} does not occur in the {where}; copy the "
                    "part as it stands (the document waits for its review)"
                )
        self._reviews[action.document_id] = action
        self._reviewed[action.document_id] = DocumentReview(
            document_id=action.document_id,
            title=self._title(action.document_id),
            decision=action.decision,
            grounds=action.grounds,
            masked_parts=len(action.masks),
            reviewed_by=action.handler,
            reviewed_at=workflow.now(),
        )
        if self._assignee is None:
            self._assignee = action.handler
        if self._state is CaseState.AWAITING_REVIEW:
            self._revised = True  # the copies are made again and shown again
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @review_document.validator
    def _validate_review_document(self, action: ReviewDocumentInput) -> None:
        number = self._case.case_number
        previewing = self._state is CaseState.AWAITING_REVIEW and not self._decision_taken
        if self._state is not CaseState.SECRECY_REVIEW and not previewing:
            raise WrongState(
                f"case {number} is {self._state.value}; documents are reviewed only while it "
                "is secrecy_review, or changed while the copies wait in awaiting_review"
            )
        if not previewing and len(self._reviews) == len(self._documents) and not self._checking:
            raise WrongState(f"case {number}: every document is reviewed already")
        if action.document_id not in {d.document_id for d in self._documents}:
            raise WrongState(
                f"case {number}: document {action.document_id} is not among the confirmed documents"
            )
        if action.document_id in self._checking:
            raise WrongState(
                f"case {number}: document {action.document_id} is being reviewed by someone "
                "else right now"
            )
        self._check_role(action.handler, REVIEW_DOCUMENT.role_action)

    @workflow.update(name=APPROVE_RELEASE.update)
    async def approve_release(self, action: ApproveReleaseInput) -> ActionResult:
        """The handler has seen the copies and the letter as they will go: send them."""
        await self._take_decision_for(APPROVE_RELEASE, action.handler)
        self._copies_released = action
        return await self._after(CaseState.AWAITING_REVIEW)

    @approve_release.validator
    def _validate_approve_release(self, action: ApproveReleaseInput) -> None:
        self._require_open(CaseState.AWAITING_REVIEW, "send the copies")
        pending = [d.document_id for d in self._documents if d.document_id not in self._reviews]
        if pending:
            raise WrongState(
                f"case {self._case.case_number}: document {', '.join(map(str, pending))} waits "
                "for its review again; review it, then look at the copies again"
            )
        if self._checking or self._revised:
            raise WrongState(
                f"case {self._case.case_number}: a review is being changed; look at the copies "
                "again when it is done"
            )
        self._check_role(action.handler, APPROVE_RELEASE.role_action)

    @workflow.update(name=REQUEST_FORMAL_DECISION.update)
    async def request_formal_decision(self, action: RequestFormalDecisionInput) -> ActionResult:
        await self._take_decision_for(REQUEST_FORMAL_DECISION, action.handler)
        self._formal_request = action
        return await self._after(CaseState.AWAITING_DECISION_REQUEST)

    @request_formal_decision.validator
    def _validate_request_formal_decision(self, action: RequestFormalDecisionInput) -> None:
        self._check_decision(
            REQUEST_FORMAL_DECISION, CaseState.AWAITING_DECISION_REQUEST, action.handler
        )

    @workflow.update(name=MAKE_FORMAL_DECISION.update)
    async def make_formal_decision(self, action: FormalDecisionInput) -> ActionResult:
        await self._take_decision_for(MAKE_FORMAL_DECISION, action.handler)
        try:
            # The register as it stands now: a delegation revoked since it was read is void.
            await self._require_delegate(action.handler, "make the formal decision")
        except BaseException:
            self._decision_taken = False
            raise
        self._formal = action
        return await self._after(CaseState.AWAITING_FORMAL_DECISION)

    @make_formal_decision.validator
    def _validate_make_formal_decision(self, action: FormalDecisionInput) -> None:
        self._require_open(CaseState.AWAITING_FORMAL_DECISION, MAKE_FORMAL_DECISION.what)
        if self._staff is None and action.handler not in self._delegates:
            # A case from before roles; since, the roster's roles include the delegations.
            raise self._no_delegation(action.handler, "make the formal decision")
        self._check_role(action.handler, MAKE_FORMAL_DECISION.role_action)

    @workflow.update(name=REGISTER_APPEAL.update)
    async def register_appeal(self, action: RegisterAppealInput) -> ActionResult:
        try:
            await self._take_decision_for(REGISTER_APPEAL, action.handler)
        except WrongState as error:
            if self._state is CaseState.CLOSED:
                raise self._closed_meanwhile() from error
            raise
        try:
            window = self._window
            if action.decision_received_on is not None and (
                window is None or action.decision_received_on != window.received_on
            ):
                window = await self._appeal_window(received_on=action.decision_received_on)
            timely, _ = _timeliness(action, window)
            if not timely:
                # Dismissing a late appeal is a decision of the company (FL 45 §).
                await self._require_delegate(action.handler, "dismiss a late appeal")
                self._check_role(action.handler, "dismiss_late_appeal")
            if self._state is not CaseState.AWAITING_APPEAL:
                raise self._closed_meanwhile()
        except BaseException:
            self._decision_taken = False
            raise
        self._appeal, self._appeal_window_used = action, window
        return await self._after(CaseState.AWAITING_APPEAL)

    @register_appeal.validator
    def _validate_register_appeal(self, action: RegisterAppealInput) -> None:
        self._require_open(CaseState.AWAITING_APPEAL, REGISTER_APPEAL.what)
        number = self._case.case_number
        sent = (
            self._window.received_on
            if self._window is not None
            else (self._decision_sent_at or workflow.now()).date()
        )
        decided = action.decision_received_on or sent
        if decided < sent:
            raise WrongState(
                f"case {number}: the decision went out on {sent}; it cannot have been received "
                "before"
            )
        if action.received_on < decided:
            raise WrongState(
                f"case {number}: an appeal cannot come in before the decision was received "
                f"({decided})"
            )
        # Stockholm is at most two hours ahead of UTC: no day later than this has begun there.
        if action.received_on > (workflow.now() + timedelta(hours=2)).date():
            raise WrongState(f"case {number}: {action.received_on} is in the future")
        self._check_role(action.handler, REGISTER_APPEAL.role_action)

    @workflow.update(name=RECORD_DECISION_RECEIPT.update)
    async def record_decision_receipt(self, action: RecordDecisionReceiptInput) -> ActionResult:
        """The day a decision sent by letter reached the requester, shown (a receipt, their
        word): the appeal period runs from it (FL 44 §)."""
        await self._authorize(action.handler, RECORD_DECISION_RECEIPT.role_action)
        self._revalidate(self._validate_record_decision_receipt, action)
        self._receipt = action
        await workflow.wait_condition(lambda: not self._receipt_pending)
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @record_decision_receipt.validator
    def _validate_record_decision_receipt(self, action: RecordDecisionReceiptInput) -> None:
        number = self._case.case_number
        if not self._receipt_pending or self._receipt is not None:
            raise WrongState(
                f"case {number}: no decision sent by letter waits for its receipt to be shown"
            )
        sent = (self._decision_sent_at or workflow.now()).date()
        if action.received_on < sent:
            raise WrongState(f"case {number}: the decision went out on {sent}, not before")
        if action.received_on > (workflow.now() + timedelta(hours=2)).date():
            raise WrongState(f"case {number}: {action.received_on} is in the future")
        self._check_role(action.handler, RECORD_DECISION_RECEIPT.role_action)

    # --- steps -----------------------------------------------------------------------------

    async def _locate_and_confirm(self) -> ConfirmDocumentsInput:
        """Search, and search again, until the handler confirms the documents."""
        query: DocumentQuery = self._request.query
        actor, action = ENGINE, "locate"
        while True:
            await self._enter(CaseState.LOCATING, actor=actor, action=action)
            note = await self._locate(query)
            await self._enter(
                CaseState.AWAITING_CONFIRMATION,
                actor=ENGINE,
                action="documents_located",
                detail=note,
            )
            await workflow.wait_condition(lambda: self._choice is not None)
            choice, self._choice = self._choice, None
            if isinstance(choice, ConfirmDocumentsInput):
                wanted = set(choice.document_ids)
                self._documents = [c for c in self._candidates if c.document_id in wanted]
                return choice
            assert choice is not None
            query, actor, action = choice.query, choice.handler, "search_again"

    async def _locate(self, query: DocumentQuery) -> str:
        try:
            found = await workflow.execute_activity_method(
                PublicAccessActivities.locate_documents,
                LocateDocumentsInput(case_number=self._case.case_number, query=query),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=PERSISTENT,
            )
        except ActivityError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == "BadSearch"):
                raise
            self._candidates, self._truncated = [], False
            return cause.message
        self._candidates, self._truncated = found.documents, found.truncated
        more = " (more matched: narrow the search)" if found.truncated else ""
        return f"{len(found.documents)} documents found{more}"

    async def _send_to_requester(
        self, what: str, refs: list[str], *, actor: str, action: str
    ) -> DeliveryReceipt:
        """To the contact the requester gave; without one, a handler hands it over."""
        if self._request.contact is None:
            return await self._handed_over("no_contact", actor=actor, action=action)
        await self._enter(CaseState.DELIVERING, actor=actor, action=action, detail=what)
        try:
            self._delivery = await workflow.execute_activity_method(
                PublicAccessActivities.deliver_public,
                DeliverPublicInput(
                    case_number=self._case.case_number,
                    contact=self._request.contact,
                    what=what,
                    refs=refs,
                ),
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=PERSISTENT,
            )
        except ActivityError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == "Undeliverable"):
                raise
            return await self._handed_over("undeliverable", actor=ENGINE, action="undeliverable")
        return self._delivery

    async def _handed_over(self, reason: str, *, actor: str, action: str) -> DeliveryReceipt:
        handed = await self._hand_over_manually(reason, actor=actor, action=action)
        self._delivery = DeliveryReceipt(
            method=DeliveryMethod.MANUAL,
            location=handed.note,
            delivered_at=workflow.now(),
            delivered_by=handed.handler,
        )
        return self._delivery

    async def _after_refusal(self, copies: CopiesResult) -> CaseResult:
        """Something was refused: the requester may ask for a formal, appealable decision."""
        terms = self._terms
        assert terms is not None
        await self._enter(
            CaseState.AWAITING_DECISION_REQUEST,
            actor=ENGINE,
            action=f"answered:{self._delivery.method.value if self._delivery else 'none'}",
        )
        try:
            await workflow.wait_condition(
                lambda: self._formal_request is not None,
                timeout=timedelta(days=terms.decision_request_days),
            )
        except TimeoutError:
            outcome = Outcome.PARTLY_RELEASED if copies.released else Outcome.WITHHELD
            return await self._close(outcome, actor=ENGINE, action="no_formal_decision_asked")
        asked = self._formal_request
        assert asked is not None
        await self._load_delegates()
        await self._enter(
            CaseState.AWAITING_FORMAL_DECISION,
            actor=asked.handler,
            action="request_formal_decision",
        )
        # A formal decision is due without delay too: the ladder starts again from now.
        await self._restart_clock(actor=asked.handler, action="formal_decision_due")
        while self._formal is None:
            # The validator checks against the register as read; read it again daily, so a
            # delegation given meanwhile counts.
            try:
                await workflow.wait_condition(
                    lambda: self._formal is not None, timeout=timedelta(days=1)
                )
            except TimeoutError:
                await self._load_delegates()
        return await self._decide(terms)

    async def _decide(self, terms: PublicAccessTerms) -> CaseResult:
        formal = self._formal
        assert formal is not None
        self._decided_by = formal.handler
        issued = await workflow.execute_activity_method(
            PublicAccessActivities.issue_decision,
            IssueDecisionInput(
                case_number=self._case.case_number,
                decided_by=formal.handler,
                delegation=self._delegates[formal.handler],
                documents=self._documents,
                reviews=[self._reviews[d.document_id] for d in self._documents],
                court=terms.court,
                appeal_weeks=terms.appeal_weeks,
                sender=self._request.sender,
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        await self._send_to_requester(
            "decision", [issued.ref], actor=formal.handler, action="make_formal_decision"
        )
        # The appeal period runs from the day the requester received the decision (FL 44 §):
        # by e-mail, the day the mail server took it (the delivery just completed); by hand,
        # that day.
        delivery = self._delivery
        self._decision_sent_at = workflow.now()
        if (
            delivery is not None
            and delivery.method is DeliveryMethod.LETTER
            and workflow.patched(APPEAL_RECEIPT_PATCH)
        ):
            # A letter's day of arrival must be shown (a receipt, the requester's word): until
            # it is, the period has not begun, and no appeal is dismissed as late.
            self._receipt_pending = True
            await self._enter(
                CaseState.AWAITING_APPEAL,
                actor=ENGINE,
                action="decision_sent_by_letter",
                detail="receipt of the decision not yet shown",
            )
            try:
                await workflow.wait_condition(
                    lambda: self._appeal is not None or self._receipt is not None,
                    timeout=timedelta(days=terms.receipt_wait_days),
                )
            except TimeoutError:
                return await self._close(
                    Outcome.DECISION_SENT, actor=ENGINE, action="receipt_never_shown"
                )
            if self._appeal is not None:
                return await self._handle_appeal(issued.ref, self._appeal_window_used, terms)
            assert self._receipt is not None
            window = self._window = await self._appeal_window(received_on=self._receipt.received_on)
            self._receipt_pending = False
            await self._record_clock_event(
                actor=self._receipt.handler,
                action="decision_receipt_shown",
                detail=f"received {window.received_on}; appeal period ends {window.last_day}",
            )
        else:
            window = self._window = await self._appeal_window()
            await self._enter(
                CaseState.AWAITING_APPEAL,
                actor=ENGINE,
                action="decision_received",
                detail=f"appeal period ends {window.last_day}",
            )
        try:
            await workflow.wait_condition(
                lambda: self._appeal is not None, timeout=window.closes_at - workflow.now()
            )
        except TimeoutError:
            return await self._close(
                Outcome.DECISION_FINAL, actor=ENGINE, action="appeal_period_ended"
            )
        assert self._appeal_window_used is not None
        return await self._handle_appeal(issued.ref, self._appeal_window_used, terms)

    async def _handle_appeal(
        self, decision_ref: str, window: AppealWindow | None, terms: PublicAccessTerms
    ) -> CaseResult:
        appeal = self._appeal
        assert appeal is not None
        # In time is decided by the day it came in, by the calendar: not by when it was
        # registered here.
        timely, basis = _timeliness(appeal, window)
        end = window.last_day if window else None
        handled = await workflow.execute_activity_method(
            PublicAccessActivities.handle_appeal,
            AppealInput(
                case_number=self._case.case_number,
                received_on=appeal.received_on,
                window_end=end,
                timely=timely,
                court=terms.court,
                decision_ref=decision_ref,
                basis=basis,
                # FL 46 §: the court gets the documents the decision concerns, withheld ones
                # too, as they are in the archive.
                documents=[d for d, r in self._reviews.items() if r.decision is not RELEASED],
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        self._appeal_record = AppealRecord(
            received_on=appeal.received_on,
            registered_by=appeal.handler,
            timely=timely,
            ref=handled.ref,
            period_end=end,
            basis=basis,
        )
        if timely:
            return await self._close(
                Outcome.APPEAL_FORWARDED,
                actor=appeal.handler,
                action="appeal_forwarded",
                detail=f"received {appeal.received_on}, period ended {end or 'not begun'}"
                + (f" ({basis})" if basis else ""),
            )
        await self._send_to_requester(
            "appeal_dismissed", [handled.ref], actor=appeal.handler, action="appeal_late"
        )
        return await self._close(
            Outcome.APPEAL_DISMISSED,
            actor=appeal.handler,
            action="appeal_dismissed",
            detail=f"received {appeal.received_on}, period ended {end}",
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _prepare_copies(self) -> CopiesResult:
        return await workflow.execute_activity_method(
            PublicAccessActivities.prepare_copies,
            PrepareCopiesInput(
                case_number=self._case.case_number,
                documents=self._documents,
                reviews=[self._reviews[d.document_id] for d in self._documents],
                sender=self._request.sender,
            ),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=PERSISTENT,
        )

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

    async def _close_withdrawn(self) -> CaseResult:
        """The requester withdrew: a confirmation goes to the contact they gave (an anonymous
        requester without one was told by whoever took the withdrawal), and the case closes."""
        withdrawal = self._withdrawal
        assert withdrawal is not None
        if self._request.contact is not None:
            letter = await workflow.execute_activity_method(
                PublicAccessActivities.confirm_withdrawal,
                WithdrawalLetterInput(
                    case_number=self._case.case_number,
                    received_on=withdrawal.received_on or workflow.now().date(),
                    sender=self._request.sender,
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
            await self._send_to_requester(
                "withdrawn", [letter.ref], actor=withdrawal.handler, action="withdraw"
            )
        return await self._close(Outcome.WITHDRAWN, actor=withdrawal.handler, action="withdrawn")

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
