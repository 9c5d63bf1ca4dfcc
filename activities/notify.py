"""Notices to recipients of the subject's data (Art. 19, 21(3)) and to staff (the DPO)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contract.base import FIELDS_SV
from contract.steps import NoticeReceipt, NotifyRecipientInput, NotifyStaffInput
from infra.adapters import (
    PermanentDeliveryError,
    RecipientChannel,
    RecipientNotice,
    StaffChannel,
    StaffMessage,
)
from infra.recipients import RecipientsRegister, load_recipients

RECIPIENT_NOTICES_SV = {
    "rectification": (
        "Rättelse av personuppgifter",
        "Uppgifter som vi tidigare lämnat till er om en gemensam kund har rättats (artikel 19 "
        "dataskyddsförordningen). Rättade uppgifter: {fields}. Rätta dem även i era register.",
    ),
    "restriction": (
        "Begränsning av behandling",
        "Behandlingen av uppgifter om en gemensam kund som vi lämnat till er är begränsad "
        "(artiklarna 18 och 19 dataskyddsförordningen): uppgifterna får bara lagras tills vi "
        "meddelar att begränsningen hävts.",
    ),
    "restriction_lifted": (
        "Begränsningen av behandling är hävd",
        "Begränsningen av behandlingen av uppgifter om en gemensam kund, som vi tidigare "
        "meddelat er, är hävd (artikel 19 dataskyddsförordningen).",
    ),
    "erasure": (
        "Radering av personuppgifter",
        "Uppgifter om en gemensam kund som vi lämnat till er har raderats hos oss (artiklarna "
        "17 och 19 dataskyddsförordningen). Radera dem även hos er, om inte lag kräver att ni "
        "sparar dem.",
    ),
    "objection": (
        "Invändning mot direktmarknadsföring",
        "En kund vars uppgifter vi lämnat till er har invänt mot direktmarknadsföring "
        "(artikel 21.3 dataskyddsförordningen). Uppgifterna får inte längre användas för "
        "marknadsföring. Övriga avtalade tjänster påverkas inte.",
    ),
}

STAFF_EVENTS_SV = {
    "reminder": "Påminnelse: tidsfristen närmar sig och ärendet är inte avslutat",
    "escalated": (
        "Eskalerat: tidsfristen är nära och ärendet är inte avslutat; teamledaren ansvarar nu "
        "för att det blir klart i tid"
    ),
    "overdue": "Försenat: tidsfristen har passerats utan att ärendet avslutats",
    "system_waiting": (
        "Ärendet väntar på system som inte svarar; de försöks igen automatiskt och ärendet "
        "fortsätter av sig självt när de svarar"
    ),
    "refused": "Begäran har vägrats som uppenbart ogrundad eller orimlig (artikel 12.5)",
    "disposal_decision_needed": (
        "Uppgifter om en registrerad som begärt radering bevaras eftersom "
        "dokumenthanteringsplanen saknar gallringsbeslut för dem (arkivlagen 1990:782); fattar "
        "arkivet ett sådant beslut, för in det i planen och registrera det med "
        "record-disposal-decision, så prövas raderingen på nytt"
    ),
    "archived_kept": (
        "För kännedom: uppgifter om en registrerad som begärt radering bevaras som allmänna "
        "handlingar, eftersom inget gallringsbeslut medger att de förstörs"
    ),
    "public_reminder": (
        "Påminnelse: en begäran om allmänna handlingar ska avgöras i dag (skyndsamt)"
    ),
    "public_escalated": (
        "Eskalerat: en begäran om allmänna handlingar har inte avgjorts inom en arbetsdag; "
        "teamledaren ansvarar nu för att den avgörs utan dröjsmål"
    ),
    "public_overdue": (
        "Försenat: en begäran om allmänna handlingar har inte avgjorts på tre arbetsdagar"
    ),
    "recipients_to_notify": (
        "Mottagare av den registrerades uppgifter som bolaget inte kan nå av sig självt "
        "(artikel 19): underrätta dem och anteckna det i ärendet"
    ),
    "erasure_blocked": (
        "Raderingen stoppades i ett system: planera om, förbered och godkänn planen på nytt"
    ),
}


def recipient_key(recipient: str) -> str:
    """A file- and id-safe key for a recipient's name, stable across retries."""
    slug = re.sub(r"[^a-z0-9]+", "-", recipient.lower()).strip("-")[:40]
    digest = hashlib.sha256(recipient.encode()).hexdigest()[:8]
    return f"{slug}-{digest}"


def _corrected(request: NotifyRecipientInput) -> str:
    """The corrected fields, each with its new value where the case gave it."""
    parts = []
    for field in request.fields:
        label = FIELDS_SV.get(field, field)
        value = request.changes.get(field)
        parts.append(f"{label}: {value}" if value is not None else label)
    return "; ".join(parts) or "-"


class NotifyActivities:
    def __init__(
        self,
        recipients: RecipientChannel,
        staff: StaffChannel,
        register: RecipientsRegister | None = None,
    ) -> None:
        self._recipients = recipients
        self._staff = staff
        self._register = register or load_recipients()

    @activity.defn
    async def notify_recipient(self, request: NotifyRecipientInput) -> NoticeReceipt:
        """One notice per recipient and case, to where the recipients register says it is
        reached (Art. 19); the id makes a retry send nothing twice. A recipient the register
        does not know is not reached (`reached` False): the case hands it to a handler."""
        title, template = RECIPIENT_NOTICES_SV[request.notice]
        known = self._register.find(request.recipient)
        if known is None:
            activity.logger.info(
                "recipient not in the register", extra={"case_number": request.case_number}
            )
            return NoticeReceipt(location="", sent_at=datetime.now(UTC), reached=False)
        location = await self._recipients.send(
            RecipientNotice(
                notice_id=(
                    f"{request.case_number}/{request.notice}"
                    + (f"-{request.notice_key}" if request.notice_key else "")
                    + f"-{recipient_key(request.recipient)}"
                ),
                recipient=request.recipient,
                subject_id=request.subject_id,
                subject=f"{title} ({request.case_number})",
                body=template.format(fields=_corrected(request)),
                fields=tuple(request.fields),
                email=known.email,
                address=tuple(known.address),
            )
        )
        return NoticeReceipt(location=location, sent_at=datetime.now(UTC))

    @activity.defn
    async def notify_staff(self, request: NotifyStaffInput) -> NoticeReceipt:
        what = STAFF_EVENTS_SV.get(request.event, request.event)
        try:
            location = await self._send_staff(request, what)
        except PermanentDeliveryError as error:
            raise ApplicationError(str(error), type="Undeliverable", non_retryable=True) from None
        return NoticeReceipt(location=location, sent_at=datetime.now(UTC))

    async def _send_staff(self, request: NotifyStaffInput, what: str) -> str:
        return await self._staff.send(
            StaffMessage(
                message_id=f"{request.case_number}-{request.role}-{request.event}"
                + (f"-{request.notice_key}" if request.notice_key else ""),
                role=request.role,
                assignee=request.assignee,
                subject=f"{request.case_number}: {what}",
                body=(
                    f"Ärende {request.case_number} ({request.kind.value})"
                    + (f", tidsfrist {request.deadline.isoformat()}" if request.deadline else "")
                    + f": {what}."
                    + (f" Gäller: {request.detail}." if request.detail else "")
                ),
            )
        )
