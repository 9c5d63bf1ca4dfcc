"""Public access (offentlighetsprincipen): locate documents, check and apply the secrecy
review's masks, write copies, decisions and appeal letters, send them to the requester. The
letters' words are in activities/public_letters.py."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.public_letters import (
    SECRET_FOR_COURT_SV,
    decision_html,
    dismissal_html,
    forwarding_html,
    letter_head,
    masked,
    title_note,
)
from activities.store import ExtractStore
from contract.calendar import STOCKHOLM
from contract.case import DeliveryMethod, DeliveryReceipt
from contract.public_access import (
    SECRECY_GROUNDS_SV,
    AppealInput,
    AppealResult,
    CandidateDocument,
    CheckMasksInput,
    CheckMasksResult,
    CopiesResult,
    DeliverPublicInput,
    IssuedDecision,
    IssueDecisionInput,
    LocateDocumentsInput,
    LocateDocumentsResult,
    PrepareCopiesInput,
    PublicAccessTerms,
    PublicAccessTermsInput,
    ReviewDocumentInput,
    WithdrawalLetterInput,
)
from contract.roster import DelegationInput, DelegationResult
from contract.vocabulary import ReviewDecision
from infra.adapters import Email, EmailChannel, Letter, LetterService, PermanentDeliveryError
from infra.config import Settings
from infra.delegation import DelegationError, load_delegations
from infra.masking import occurrences
from systems.document_archive import (
    MAX_HITS,
    ArchiveDecl,
    DocumentSearch,
    document_text,
    search_documents,
)

# Released copies and decisions are written once per case; a retry rewrites the same files.
VERSION = 1


SUBJECTS_SV = {
    "copies": "Begärda allmänna handlingar",
    "decision": "Beslut om utlämnande av allmänna handlingar",
    "appeal_dismissed": "Beslut: överklagandet har kommit in för sent",
    "withdrawn": "Din begäran om allmänna handlingar är återkallad",
}


def copy_fee(pages: int, settings: Settings) -> int:
    """The fee for `pages` pages of copies: nothing up to the free pages; then the first paid
    page's fee, covering the free ones too, and a fee per page after it."""
    if pages <= settings.copy_fee_free_pages:
        return 0
    further = pages - settings.copy_fee_free_pages - 1
    return settings.copy_fee_first_paid_page_sek + further * settings.copy_fee_per_further_page_sek


class PublicAccessActivities:
    def __init__(
        self,
        archive: AsyncEngine,
        decl: ArchiveDecl,
        store: ExtractStore,
        email: EmailChannel,
        letters: LetterService,
        settings: Settings,
    ) -> None:
        self._archive = archive
        self._decl = decl
        self._store = store
        self._email = email
        self._letters = letters
        self._settings = settings

    @activity.defn
    async def public_access_terms(self, request: PublicAccessTermsInput) -> PublicAccessTerms:
        """The settings the case runs by, in its history: a changed setting cannot change a
        running case's replay."""
        s = self._settings
        return PublicAccessTerms(
            decision_request_days=s.formal_decision_request_days,
            appeal_weeks=s.appeal_weeks,
            late_appeal_days=s.late_appeal_days,
            court=s.court_of_appeal,
            receipt_wait_days=s.decision_receipt_wait_days,
        )

    @activity.defn
    async def locate_documents(self, request: LocateDocumentsInput) -> LocateDocumentsResult:
        query = request.query
        try:
            found = await search_documents(
                self._archive,
                self._decl,
                DocumentSearch(
                    types=query.types,
                    date_from=query.date_from,
                    date_to=query.date_to,
                    party=query.party,
                    text=query.text,
                ),
            )
        except ValueError as error:  # an unknown type: the handler searches again
            raise ApplicationError(str(error), type="BadSearch", non_retryable=True) from None
        activity.logger.info(
            "documents located", extra={"case_number": request.case_number, "found": len(found)}
        )
        return LocateDocumentsResult(
            documents=[
                CandidateDocument(
                    document_id=d.document_id,
                    type=d.type,
                    date=d.date,
                    title=d.title,
                    pages=d.pages,
                )
                for d in found
            ],
            truncated=len(found) >= MAX_HITS,
        )

    @activity.defn
    async def check_masks(self, request: CheckMasksInput) -> CheckMasksResult:
        """How often each part to mask occurs in the document's title and text, or in its title
        alone for a withheld document (a part not found is a typo). Found as masking finds it:
        in any case, across line breaks."""
        text = request.title
        if not request.title_only:
            text += f"\n{await self._text(request.document_id)}"
        return CheckMasksResult(found=[occurrences(text, mask.text) for mask in request.masks])

    @activity.defn
    async def prepare_copies(self, request: PrepareCopiesInput) -> CopiesResult:
        """Copies of the released documents with the masked parts removed from the text, and
        the cover letter: what is released, what is not and why, the fee, the remedy."""
        reviews = {r.document_id: r for r in request.reviews}
        copy_refs: list[str] = []
        released: list[CandidateDocument] = []
        withheld: list[CandidateDocument] = []
        for document in request.documents:
            review = reviews[document.document_id]
            if review.decision is ReviewDecision.WITHHOLD:
                withheld.append(document)
                continue
            text = await self._text(document.document_id)
            ref = self._ref(request.case_number, f"handling-{document.document_id}.txt")
            title = masked(document.title, review.masks)
            self._store.write(ref, f"{title}\n{document.date}\n\n{masked(text, review.masks)}\n")
            copy_refs.append(ref)
            released.append(document)
        pages = sum(d.pages for d in released)
        fee = copy_fee(pages, self._settings)
        letter_ref = self._ref(request.case_number, "svar.html")
        self._store.write(
            letter_ref, self._cover_letter(request, released, withheld, reviews, pages, fee)
        )
        return CopiesResult(
            letter_ref=letter_ref,
            copy_refs=copy_refs,
            pages=pages,
            fee_sek=fee,
            released=[d.document_id for d in released],
            withheld=[d.document_id for d in withheld],
        )

    @activity.defn
    async def deliver_public(self, request: DeliverPublicInput) -> DeliveryReceipt:
        """Send to the requester's contact, e-mail first; no contact: a handler hands it over.
        The case number and what is sent make the message id, so a retry sends once."""
        contact = request.contact
        paths = tuple(self._store.attachment(ref) for ref in request.refs)
        message_id = f"{request.case_number}-{request.what}"
        subject = f"{SUBJECTS_SV[request.what]}, ärende {request.case_number}"
        if contact is not None and contact.email:
            try:
                location = await self._email.send(
                    Email(
                        message_id=message_id,
                        to=contact.email,
                        subject=subject,
                        body="Se bifogade filer.",
                        attachments=paths,
                    )
                )
            except PermanentDeliveryError:
                # A mistyped address: no retry can help, a handler reaches the requester.
                raise ApplicationError(
                    "the mail server refused the requester's address",
                    type="Undeliverable",
                    non_retryable=True,
                ) from None
            method = DeliveryMethod.EMAIL
        elif contact is not None and contact.postal_address:
            lines = ((contact.name,) if contact.name else ()) + tuple(contact.postal_address)
            location = await self._letters.post(
                Letter(
                    letter_id=message_id,
                    address_lines=lines,
                    body_html=paths[0].data.decode("utf-8"),
                    enclosures=paths[1:],
                )
            )
            method = DeliveryMethod.LETTER
        else:
            raise ApplicationError(
                "the requester left no contact: a handler hands it over",
                type="NoContact",
                non_retryable=True,
            )
        activity.logger.info(
            "sent to requester",
            extra={"case_number": request.case_number, "what": request.what, "method": method},
        )
        return DeliveryReceipt(
            method=method, location=location, delivered_at=datetime.now(UTC), delivered_by="engine"
        )

    @activity.defn
    async def delegations(self, request: DelegationInput) -> DelegationResult:
        """Who holds delegated authority to decide on `request.on`, from the register."""
        try:
            register = load_delegations(self._settings.delegation_register)
        except DelegationError as error:
            # A broken register is a fault to fix, not a "no": retry until it is readable.
            raise RuntimeError(f"delegation register: {error}") from None
        return DelegationResult(delegates=register.on(request.at.astimezone(STOCKHOLM).date()))

    @activity.defn
    async def issue_decision(self, request: IssueDecisionInput) -> IssuedDecision:
        """The formal decision: per document what is withheld and on which ground, who decided
        with which delegation, and how to appeal."""
        ref = self._ref(request.case_number, "beslut.html")
        self._store.write(ref, decision_html(request))
        return IssuedDecision(ref=ref)

    @activity.defn
    async def confirm_withdrawal(self, request: WithdrawalLetterInput) -> IssuedDecision:
        """The confirmation that a withdrawn request is closed, for the requester."""
        ref = self._ref(request.case_number, "aterkallelse.html")
        self._store.write(
            ref,
            letter_head(f"Återkallad begäran om allmänna handlingar, ärende {request.case_number}")
            + f"<p>Till: {html.escape(request.sender or 'den som begärt handlingarna')}</p>"
            f"<p>Du återkallade din begäran den {request.received_on}. Ärendet är avslutat och "
            "inga handlingar lämnas ut på begäran. Vill du ta del av handlingar är du välkommen "
            "att begära dem på nytt.</p></body></html>",
        )
        return IssuedDecision(ref=ref)

    @activity.defn
    async def handle_appeal(self, request: AppealInput) -> AppealResult:
        """A timely appeal goes on to the court with the decision and the documents it
        concerns, the withheld ones as they are in the archive, marked secret (FL 46 §); a late
        one is dismissed (FL 45 §) by a decision to the requester."""
        if request.timely:
            ref = self._ref(request.case_number, "overlamnande.html")
            self._store.write(ref, forwarding_html(request))
            concerned = []
            for document_id in request.documents:
                original = self._ref(request.case_number, f"till-domstolen-{document_id}.txt")
                self._store.write(
                    original,
                    f"{SECRET_FOR_COURT_SV}\n\n{await self._text(document_id)}\n",
                )
                concerned.append(self._store.attachment(original))
            await self._letters.post(
                Letter(
                    letter_id=f"{request.case_number}-appeal",
                    address_lines=(request.court,),
                    body_html=self._store.read_text(ref),
                    enclosures=(self._store.attachment(request.decision_ref), *concerned),
                )
            )
        else:
            ref = self._ref(request.case_number, "avvisning.html")
            self._store.write(ref, dismissal_html(request))
        return AppealResult(ref=ref)

    # --- helpers -------------------------------------------------------------------------

    async def _text(self, document_id: int) -> str:
        try:
            return await document_text(self._archive, self._decl, document_id)
        except LookupError as error:
            raise ApplicationError(str(error), type="UnknownDocument", non_retryable=True) from None

    def _ref(self, case_number: str, name: str) -> str:
        return self._store.ref(case_number, VERSION, name)

    def _cover_letter(
        self,
        request: PrepareCopiesInput,
        released: list[CandidateDocument],
        withheld: list[CandidateDocument],
        reviews: dict[int, ReviewDocumentInput],
        pages: int,
        fee: int,
    ) -> str:
        e = html.escape
        parts = [
            letter_head(f"Svar på begäran om allmänna handlingar, ärende {request.case_number}"),
            f"<p>Till: {e(request.sender or 'den som begärt handlingarna')}</p>",
        ]
        if not request.documents:
            parts.append(
                "<p>Bolaget har inte några allmänna handlingar som motsvarar din begäran.</p>"
            )
        if released:
            parts.append("<h2>Handlingar som lämnas ut</h2><ul>")
            for d in released:
                review = reviews[d.document_id]
                note = ""
                if review.decision is ReviewDecision.MASK:
                    note = (
                        " (vissa uppgifter är maskerade enligt "
                        + ", ".join(g.value for g in review.grounds)
                        + ")"
                    )
                title = masked(d.title, review.masks)
                parts.append(f"<li>{e(title)}, {d.date}, {d.pages} sidor{e(note)}</li>")
            parts.append("</ul>")
        if withheld:
            parts.append("<h2>Handlingar som inte lämnas ut</h2><ul>")
            for d in withheld:
                review = reviews[d.document_id]
                ground = review.ground
                assert ground is not None
                parts.append(
                    f"<li>{e(masked(d.title, review.masks))}, {d.date}: sekretess enligt "
                    f"{ground.value}, {e(SECRECY_GROUNDS_SV[ground])}{e(title_note(review))}</li>"
                )
            parts.append("</ul>")
        if withheld or any(r.decision is ReviewDecision.MASK for r in reviews.values()):
            parts.append(
                "<p>Du kan begära att bolaget prövar frågan och fattar ett skriftligt beslut om "
                "de uppgifter och handlingar som inte lämnas ut. Ett sådant beslut kan "
                "överklagas till kammarrätten. Kontakta oss och ange ärendenumret inom "
                f"{request.decision_request_days} dagar; därefter avslutas ärendet, och en "
                "senare begäran om beslut handläggs som ett nytt ärende.</p>"
            )
        s = self._settings
        parts.append(
            f"<h2>Avgift</h2><p>{pages} sidor. "
            + (
                f"Avgift {fee} kr: de första {s.copy_fee_free_pages} sidorna är avgiftsfria, "
                f"sida {s.copy_fee_free_pages + 1} kostar {s.copy_fee_first_paid_page_sek} kr "
                f"och varje sida därutöver {s.copy_fee_per_further_page_sek} kr. En faktura "
                "skickas separat.</p>"
                if fee
                else "Ingen avgift.</p>"
            )
        )
        parts.append("</body></html>")
        return "".join(parts)
