"""Delivery of answers and notices: secure digital mailbox or letter, never plain e-mail."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.rendering import render_html
from activities.store import ExtractStore
from contract.case import DeliveryMethod, DeliveryReceipt, DeliveryRoute, DeliveryRouteInput
from contract.steps import DeliverInput, NoticeReceipt, SendNoticeInput
from infra.adapters import (
    DigitalMailbox,
    Letter,
    LetterService,
    MailboxMessage,
    PopulationRegister,
)

REMEDIES_SV = (
    "Du har rätt att lämna klagomål till Integritetsskyddsmyndigheten (IMY), www.imy.se, och "
    "att få saken prövad av domstol (artiklarna 77 och 79 dataskyddsförordningen)."
)

# Notices to the subject: title and body; {reason} and the workflow's facts fill them in.
NOTICES_SV = {
    "identity_not_verified": (
        "Din begäran kunde inte behandlas",
        "Vi har inte kunnat bekräfta din identitet och kan därför inte behandla din begäran "
        "(artikel 12.6 dataskyddsförordningen). Skäl: {reason} Du är välkommen att göra en ny "
        "begäran, till exempel genom vår e-tjänst med BankID. " + REMEDIES_SV,
    ),
    "refused": (
        "Beslut om din begäran",
        "Vi har bedömt att din begäran är uppenbart ogrundad eller orimlig och kommer inte att "
        "tillmötesgå den (artikel 12.5 dataskyddsförordningen). Skäl: {reason} " + REMEDIES_SV,
    ),
    "objection_confirmed": (
        "Din invändning mot direktmarknadsföring är genomförd",
        "Från och med {effective} använder vi inte dina personuppgifter för "
        "direktmarknadsföring, varken via e-post, sms, telefon eller post (artikel 21.3 "
        "dataskyddsförordningen). Samtycken till marknadsföring är återkallade. Invändningen "
        "gäller endast marknadsföring: ditt avtal, dina fakturor och "
        "meddelanden om avbrott påverkas inte. Tjänsteleverantörer som fått uppgifter för "
        "marknadsföring och som vi har meddelat: {providers}.",
    ),
    "restriction_applied": (
        "Behandlingen av dina personuppgifter är begränsad",
        "Från och med {effective} lagrar vi dina uppgifter men behandlar dem inte på annat sätt "
        "utan ditt samtycke, utom för rättsliga anspråk eller för att skydda någon annan "
        "(artikel 18 dataskyddsförordningen). Skäl till begränsningen: {ground}. Mottagare av "
        "dina uppgifter som får veta om begränsningen (artikel 19): {recipients}. Vi meddelar "
        "dig innan begränsningen hävs.",
    ),
    "restriction_ground_requested": (
        "Vi behöver veta varför behandlingen ska begränsas",
        "Du har begärt att behandlingen av dina personuppgifter begränsas (artikel 18 "
        "dataskyddsförordningen). Ange vilken av grunderna i artikel 18.1 det gäller: a) du "
        "bestrider att uppgifterna är korrekta, b) behandlingen är olaglig men du vill inte att "
        "uppgifterna raderas, c) du behöver uppgifterna för att fastställa, göra gällande eller "
        "försvara rättsliga anspråk, eller d) du har invänt mot behandlingen och vi prövar om "
        "våra skäl väger tyngre. Svara genom att kontakta oss och ange ärendenumret. {clock}",
    ),
    "restriction_lifting": (
        "Begränsningen av behandlingen kommer att hävas",
        "Begränsningen av behandlingen av dina personuppgifter hävs (artikel 18.3 "
        "dataskyddsförordningen). Skäl: {reason} Därefter behandlar vi uppgifterna som "
        "vanligt enligt vår integritetspolicy. " + REMEDIES_SV,
    ),
    "erasure_answer": (
        "Svar på din begäran om radering",
        "Raderat eller avidentifierat: {erased}. Sparas enligt lag, och behandlas under tiden "
        "bara för det ändamål som kräver det: {kept} Det som sparas raderas automatiskt när "
        "tiden gått ut. Mottagare av de raderade uppgifterna som får veta om raderingen "
        "(artikel 19): {recipients}. " + REMEDIES_SV,
    ),
    "withdrawn": (
        "Din begäran är återkallad",
        "Du återkallade din begäran den {received}. Vi har avslutat ärendet och gör inget mer "
        "med begäran. {done} Vill du göra en ny begäran är du välkommen att kontakta oss.",
    ),
    "extension": (
        "Vi behöver mer tid för att besvara din begäran",
        "Vi förlänger tiden för att besvara din begäran med två månader, till och med "
        "{deadline} (artikel 12.3 dataskyddsförordningen). Skäl: {reason} " + REMEDIES_SV,
    ),
    "clarification_requested": (
        "Vi behöver veta mer för att kunna besvara din begäran",
        "För att kunna besvara din begäran behöver vi ett förtydligande: {reason} Svara genom "
        "att kontakta oss och ange ärendenumret. {clock}",
    ),
    "identity_requested": (
        "Styrk din identitet så att vi kan besvara din begäran",
        "Vi har fått en begäran om dina personuppgifter. Innan vi lämnar ut eller ändrar något "
        "behöver vi veta att begäran kommer från dig (artikel 12.6 dataskyddsförordningen): "
        "logga in i vår e-tjänst med BankID, eller besök vår kundtjänst med giltig "
        "legitimation, och ange ärendenumret. Har du inte gjort någon begäran, kontakta oss. "
        "{clock}",
    ),
    "rectification_answer": (
        "Svar på din begäran om rättelse",
        "Rättade uppgifter: {changed}. Uppgifter som inte rättats: {rejected}. {reason_text}"
        "Mottagare av uppgifterna som får veta om rättelsen (artikel 19 "
        "dataskyddsförordningen): {recipients}. " + REMEDIES_SV,
    ),
}


def _filled(template: str, reason: str, facts: dict[str, str]) -> str:
    """The notice with its facts; a fact a case from before it existed did not give reads as
    a dash rather than failing the notice."""
    return template.format_map(defaultdict(lambda: "-", {"reason": reason, **facts}))


class DeliveryActivities:
    def __init__(
        self,
        store: ExtractStore,
        mailbox: DigitalMailbox,
        letters: LetterService,
        population: PopulationRegister,
    ) -> None:
        self._store = store
        self._mailbox = mailbox
        self._letters = letters
        self._population = population

    @activity.defn
    async def delivery_route(self, request: DeliveryRouteInput) -> DeliveryRoute:
        """Where an answer can reach the subject and nobody else: their own digital mailbox
        (bound to the identity number) and their population-register address (SPAR), and
        whether SPAR reports protected personal data. Only whether, never the address."""
        person = await self._population.lookup(request.subject_id)
        protected = person is not None and person.protected
        return DeliveryRoute(
            digital_mailbox=await self._mailbox.has_mailbox(request.subject_id),
            registered_address=(
                person is not None and not protected and person.folkbokforingsadress is not None
            ),
            protected_identity=protected,
        )

    @activity.defn
    async def deliver_extract(self, request: DeliverInput) -> DeliveryReceipt:
        """Send the extract; the case number is the message id, so a retry sends nothing twice.
        The workflow gives it a heartbeat timeout, so it heartbeats while the mailbox or the
        printer takes the message (activities/heartbeat.py): a worker that died mid-send is
        found at that timeout."""
        extract = request.extract
        if request.method is DeliveryMethod.DIGITAL_MAILBOX:
            await self._require_mailbox(request.subject_id)
            attachments = tuple(
                self._store.attachment(ref)
                for ref in (extract.html_ref, extract.json_ref, *extract.extra_refs)
            )
            location = await self._mailbox.send(
                MailboxMessage(
                    message_id=request.case_number,
                    recipient=request.subject_id,
                    subject=f"Ditt registerutdrag, ärende {request.case_number}",
                    body="Här är kopian av dina personuppgifter som du begärt (artikel 15).",
                    attachments=attachments,
                )
            )
        elif request.method is DeliveryMethod.LETTER:
            location = await self._post_letter(request)
        else:
            raise ApplicationError(
                "manual delivery is recorded by a handler, not sent",
                type="ManualDelivery",
                non_retryable=True,
            )
        activity.logger.info(
            "extract delivered",
            extra={"case_number": request.case_number, "method": request.method.value},
        )
        return DeliveryReceipt(
            method=request.method,
            location=location,
            delivered_at=datetime.now(UTC),
            delivered_by=request.actor,
        )

    @activity.defn
    async def send_notice(self, request: SendNoticeInput) -> NoticeReceipt:
        """A notice to the subject through the digital mailbox (never shows an address)."""
        title, template = NOTICES_SV[request.notice]
        await self._require_mailbox(request.subject_id)
        location = await self._mailbox.send(
            MailboxMessage(
                message_id=f"{request.case_number}-{request.notice}"
                + (f"-{request.notice_key}" if request.notice_key else ""),
                recipient=request.subject_id,
                subject=f"{title}, ärende {request.case_number}",
                body=html.escape(_filled(template, request.reason, request.facts)),
            )
        )
        return NoticeReceipt(location=location, sent_at=datetime.now(UTC))

    async def _post_letter(self, request: DeliverInput) -> str:
        """A paper answer to the population-register address (folkbokföringsadress, SPAR),
        never an address on a customer record: that may be old, or someone else's. Every row
        is printed, the long tables in annex pages; a protected person gets no letter."""
        person = await self._population.lookup(request.subject_id)
        if person is None or person.protected or person.folkbokforingsadress is None:
            raise ApplicationError(
                "no population-register address to send a letter to",
                type="NoAddress",
                non_retryable=True,
            )
        answer = json.loads(self._store.read_text(request.extract.json_ref))
        if "systems" in answer:  # the Art. 15 answer, printed whole
            body = render_html(answer, paper=True)
        else:  # another product goes digitally; should one go on paper, its cover as it is
            body = self._store.read_text(request.extract.html_ref)
        return await self._letters.post(
            Letter(
                letter_id=request.case_number,
                address_lines=person.folkbokforingsadress.lines(person.name),
                body_html=body,
            )
        )

    async def _require_mailbox(self, recipient: str) -> None:
        if not await self._mailbox.has_mailbox(recipient):
            # Not a fault: many people have no digital mailbox. The workflow picks another way.
            raise ApplicationError(
                "the subject has no digital mailbox", type="NoMailbox", non_retryable=True
            )
