"""A request for official documents (offentlighetsprincipen, TF 2 kap.): anyone may ask,
anonymously; each document is reviewed for secrecy before anything is released. The course of
the case is here; its state and rules in workflows/public_case.py, its handlers' actions in
workflows/public_review.py."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from contract.case import CaseInput, CaseResult, CaseState, DeliveryMethod, DeliveryReceipt, Outcome
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.public_access import (
    AppealInput,
    AppealRecord,
    AppealWindow,
    ConfirmDocumentsInput,
    CopiesResult,
    DeliverPublicInput,
    IssueDecisionInput,
    LocateDocumentsInput,
    PrepareCopiesInput,
    PublicAccessTerms,
    PublicAccessTermsInput,
    WithdrawalLetterInput,
)
from contract.public_request import DocumentQuery
from contract.vocabulary import ReviewDecision
from workflows.case.state import ENGINE
from workflows.public_case import APPEAL_RECEIPT_PATCH, COPIES_PREVIEW_PATCH, timeliness
from workflows.public_review import PublicAccessActions

with workflow.unsafe.imports_passed_through():
    from activities.public_access import PublicAccessActivities


RELEASED = ReviewDecision.RELEASE


@workflow.defn
class PublicAccessWorkflow(PublicAccessActions):
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
        timely, basis = timeliness(appeal, window)
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
