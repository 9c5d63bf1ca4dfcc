"""The handler actions on a public-access case: the search, the documents it covers, the
secrecy review, the release, the formal decision and the appeal.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from contract.actions import ActionResult, ApproveReleaseInput
from contract.case import CaseState
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
    CheckMasksInput,
    ConfirmDocumentsInput,
    DocumentReview,
    FormalDecisionInput,
    RecordDecisionReceiptInput,
    RegisterAppealInput,
    RequestFormalDecisionInput,
    ReviewDocumentInput,
    SearchAgainInput,
)
from contract.vocabulary import ReviewDecision
from workflows.case.state import WrongState
from workflows.public_case import PublicAccessCase, timeliness

with workflow.unsafe.imports_passed_through():
    from activities.public_access import PublicAccessActivities


class PublicAccessActions(PublicAccessCase):
    """The handler actions (updates) of a public-access case; see PublicAccessWorkflow."""

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
            timely, _ = timeliness(action, window)
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
