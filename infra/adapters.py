"""Interfaces to parties outside the company, with the adapters the demo and the tests use.

The e-ID provider (BankID through a broker) and the secure digital mailbox are external
services. The engine talks to them only through these protocols; the `Fake`/`Outbox` adapters
keep the shape of the real APIs (an order reference to collect, a message with attachments to a
recipient's identity number) and write to files under var/ instead of the network.

Those files hold personal data in the clear (they stand for what has left the company), so
they are the owner's only (folders 0700, files 0600), they go when the case's other files go
(`delete_case`, called by the extract store's disposal), and production refuses these adapters
(infra.config).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import smtplib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol, runtime_checkable

from contract.addresses import is_one_address
from infra.files import remove, write_atomically


@runtime_checkable
class HoldsCaseFiles(Protocol):
    """An adapter that keeps files of its own about a case (the demo's outboxes)."""

    def delete_case(self, case_number: str) -> int:
        """Remove the case's files; how many there were (0 when already gone)."""
        ...


def _private_folder(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write(path: Path, content: bytes) -> None:
    write_atomically(path, content, private=True)


def _of_case(directory: Path, case_number: str) -> list[Path]:
    """The entries named for the case: the case number itself or "<case number>-<what>"."""
    if not directory.exists():
        return []
    return [
        entry
        for entry in directory.iterdir()
        if entry.name == case_number or entry.name.startswith(f"{case_number}-")
    ]


@dataclass(frozen=True)
class EidCompletion:
    """What an e-ID provider returns for a completed signature order: BankID's collect answer
    (status "complete") carries the personal number, the signature (an XML signature, base64)
    and the OCSP response that shows the certificate was valid."""

    order_ref: str
    personal_number: str
    completed_at: datetime
    signature: str = ""
    ocsp_response: str = ""


class EidProvider(Protocol):
    async def collect(self, order_ref: str) -> EidCompletion | None:
        """The completed order, or None if it is unknown, pending or failed."""
        ...


class FakeEidProvider:
    """Stands in for the e-ID broker: `sign` plays the person signing in the e-service, and
    `completion_data` is what the e-service then got back from its own collect call.

    An order names no case (as BankID's does not), so the disposal of a case removes every
    order older than `ORDER_KEPT_SECONDS`: long collected by then, the case's among them (a
    case's files go at the earliest days after it closed)."""

    ORDER_KEPT_SECONDS = 3600.0

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def delete_case(self, case_number: str) -> int:
        if not self._directory.exists():
            return 0
        stale = time.time() - self.ORDER_KEPT_SECONDS
        return remove(
            [path for path in self._directory.glob("*.json") if path.stat().st_mtime < stale]
        )

    def sign(self, personal_number: str) -> str:
        order_ref = f"fake-{secrets.token_hex(8)}"
        _private_folder(self._directory)
        record = {
            "personal_number": personal_number,
            "completed_at": datetime.now(UTC).isoformat(),
            "signature": base64.b64encode(secrets.token_bytes(96)).decode(),
            "ocsp_response": base64.b64encode(secrets.token_bytes(48)).decode(),
        }
        _write(self._directory / f"{order_ref}.json", json.dumps(record).encode())
        return order_ref

    async def collect(self, order_ref: str) -> EidCompletion | None:
        if not order_ref.replace("-", "").isalnum():
            return None
        path = self._directory / f"{order_ref}.json"
        if not path.exists():
            return None
        record = json.loads(path.read_text())
        return EidCompletion(
            order_ref=order_ref,
            personal_number=record["personal_number"],
            completed_at=datetime.fromisoformat(record["completed_at"]),
            signature=record.get("signature", ""),
            ocsp_response=record.get("ocsp_response", ""),
        )

    async def completion_data(self, order_ref: str) -> dict[str, object]:
        """The order as BankID's /rp/v6.0/collect answers it when complete."""
        completion = await self.collect(order_ref)
        if completion is None:
            raise LookupError(f"no completed order {order_ref}")
        return {
            "orderRef": order_ref,
            "status": "complete",
            "completionData": {
                "user": {"personalNumber": completion.personal_number},
                "signature": completion.signature,
                "ocspResponse": completion.ocsp_response,
            },
        }


@dataclass(frozen=True)
class SparAddress:
    """A Swedish address as SPAR gives it (SvenskAdress: utdelningsadress, postnummer, postort)."""

    utdelningsadress1: str
    postnummer: str
    postort: str
    utdelningsadress2: str | None = None
    care_of: str | None = None

    def lines(self, name: str) -> tuple[str, ...]:
        """The envelope: the name, c/o, the street lines and "postnummer postort"."""
        parts = [name, f"c/o {self.care_of}" if self.care_of else None]
        parts += [self.utdelningsadress1, self.utdelningsadress2]
        parts.append(f"{self.postnummer} {self.postort}")
        return tuple(part for part in parts if part)


@dataclass(frozen=True)
class SparPerson:
    """What SPAR's person lookup (PersonsokningSvarspost) answers for an identity number: the
    name, the population-register address (folkbokföringsadress), and whether the person has
    protected personal data. For a person with sekretessmarkering or skyddad folkbokföring SPAR
    gives no address; the engine must then show or use none (manual handling)."""

    id_nummer: str
    fornamn: str
    efternamn: str
    folkbokforingsadress: SparAddress | None
    sekretessmarkering: bool = False
    skyddad_folkbokforing: bool = False

    @property
    def protected(self) -> bool:
        return self.sekretessmarkering or self.skyddad_folkbokforing

    @property
    def name(self) -> str:
        return f"{self.fornamn} {self.efternamn}"


class PopulationRegister(Protocol):
    """The state's personal address register (SPAR), outside the company: where letters go."""

    async def lookup(self, id_nummer: str) -> SparPerson | None:
        """The person with this identity number, or None if SPAR knows nobody by it."""
        ...


class DemoPopulationRegister:
    """Stands in for SPAR over the demo's seeded people (demo/). SPAR answers a
    protected person without an address, as the real service does."""

    def __init__(self, people: dict[str, SparPerson]) -> None:
        self._people = people

    async def lookup(self, id_nummer: str) -> SparPerson | None:
        person = self._people.get(id_nummer)
        if person is not None and person.protected:
            return SparPerson(
                id_nummer=person.id_nummer,
                fornamn=person.fornamn,
                efternamn=person.efternamn,
                folkbokforingsadress=None,
                sekretessmarkering=person.sekretessmarkering,
                skyddad_folkbokforing=person.skyddad_folkbokforing,
            )
        return person


@dataclass(frozen=True)
class Attachment:
    """A file sent to someone outside: its name and its content, opened from the sealed
    extract store only to be handed over."""

    name: str
    data: bytes

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix


@dataclass(frozen=True)
class MailboxMessage:
    message_id: str  # idempotency key: the provider ignores a second send with the same id
    recipient: str  # the recipient's identity number: how digital mailboxes are addressed
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class DigitalMailbox(Protocol):
    async def has_mailbox(self, recipient: str) -> bool: ...

    async def send(self, message: MailboxMessage) -> str:
        """Deliver and return where it went (the provider's receipt)."""
        ...


class OutboxMailbox:
    """Writes each message to var/outbox/digital-mailbox/<message id>/ as the provider would.

    Everyone has a mailbox here except the recipients listed in `without_mailbox`, so the demo
    and the tests can show what happens to someone who has none.
    """

    def __init__(self, directory: Path, *, without_mailbox: frozenset[str] = frozenset()) -> None:
        self._directory = directory
        self._without_mailbox = without_mailbox

    async def has_mailbox(self, recipient: str) -> bool:
        return recipient not in self._without_mailbox

    def delete_case(self, case_number: str) -> int:
        return remove(_of_case(self._directory, case_number))

    async def send(self, message: MailboxMessage) -> str:
        target = _private_folder(self._directory / message.message_id)
        for attachment in message.attachments:
            _write(target / attachment.name, attachment.data)
        envelope = {
            "message_id": message.message_id,
            "recipient": message.recipient,
            "subject": message.subject,
            "body": message.body,
            "attachments": [a.name for a in message.attachments],
        }
        _write(target / "message.json", json.dumps(envelope, ensure_ascii=False, indent=2).encode())
        return str(target)


@dataclass(frozen=True)
class Letter:
    letter_id: str
    address_lines: tuple[str, ...]
    body_html: str
    enclosures: tuple[Attachment, ...] = ()


class LetterService(Protocol):
    async def post(self, letter: Letter) -> str: ...


class PrintFolderLetters:
    """Letters go to a print folder (var/outbox/letters/<id>/) picked up by the print service."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def delete_case(self, case_number: str) -> int:
        return remove(_of_case(self._directory, case_number))

    async def post(self, letter: Letter) -> str:
        target = _private_folder(self._directory / letter.letter_id)
        for enclosure in letter.enclosures:
            _write(target / enclosure.name, enclosure.data)
        _write(target / "letter.html", letter.body_html.encode())
        _write(target / "address.txt", "\n".join(letter.address_lines).encode())
        return str(target)


@dataclass(frozen=True)
class RecipientNotice:
    """Art. 19 / Art. 21(3): a recipient of the subject's data is told what changed."""

    notice_id: str  # idempotency key: case number + recipient
    recipient: str
    subject_id: str  # the recipient must know whose data it is
    subject: str
    body: str
    fields: tuple[str, ...] = ()
    # Where it goes, from the recipients register: an e-mail address, else a postal address.
    email: str | None = None
    address: tuple[str, ...] = ()


class RecipientChannel(Protocol):
    async def send(self, notice: RecipientNotice) -> str: ...


class OutboxRecipients:
    """Notices to recipients land in var/outbox/recipients/<case>/<recipient>.json."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def delete_case(self, case_number: str) -> int:
        return remove(_of_case(self._directory, case_number))

    async def send(self, notice: RecipientNotice) -> str:
        case_number, _, recipient_key = notice.notice_id.partition("/")
        target = _private_folder(self._directory / case_number) / f"{recipient_key}.json"
        record = {
            "notice_id": notice.notice_id,
            "recipient": notice.recipient,
            "subject_id": notice.subject_id,
            "subject": notice.subject,
            "body": notice.body,
            "fields": list(notice.fields),
            "email": notice.email,
            "address": list(notice.address),
        }
        _write(target, json.dumps(record, ensure_ascii=False, indent=2).encode())
        return str(target)


@dataclass(frozen=True)
class StaffMessage:
    """To the assignee, team lead or DPO: case number, kind, deadline, what is due; no PII."""

    message_id: str
    role: str
    subject: str
    body: str
    assignee: str | None = None  # handler id, when the role is "assignee"


class PermanentDeliveryError(RuntimeError):
    """The channel refused for good (an unknown address): retrying cannot help."""


class StaffChannel(Protocol):
    async def send(self, message: StaffMessage) -> str: ...


@dataclass(frozen=True)
class SmtpServer:
    """The company's mail server: at least once; a 5xx refusal is permanent, not retried."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str = ""
    password: str = ""

    async def send(self, mail: EmailMessage) -> None:
        # One recipient per message, always: "a@b.se,root" would mail two (contract.addresses).
        if not is_one_address(str(mail["To"] or "")):
            raise PermanentDeliveryError("the recipient is not one e-mail address")
        mail["From"] = self.sender
        await asyncio.to_thread(self._deliver, mail)

    def _deliver(self, mail: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as server:
                if self.starttls:
                    server.starttls()
                if self.username:
                    server.login(self.username, self.password)
                server.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentDeliveryError(f"the mail server refused {mail['To']}") from None
            raise
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500:
                raise PermanentDeliveryError(
                    f"the mail server refused the message ({error.smtp_code})"
                ) from None
            raise


class SmtpStaff:
    """Staff messages as e-mail over SMTP, to the address configured for each role.

    The assignee's address is `assignee_email` with the handler id filled in; a case without an
    assignee goes to the team lead. Sent at least once: a retry after a lost answer from the
    server may send a message twice (the Message-ID lets a mail client see it is the same).
    A permanent refusal (5xx, e.g. an unknown address) is not retried: the caller records it.
    """

    def __init__(
        self,
        server: SmtpServer,
        *,
        assignee_email: str,
        team_lead_email: str,
        dpo_email: str,
        archivist_email: str,
    ) -> None:
        self._server = server
        self._assignee_email = assignee_email
        self._addresses = {
            "team_lead": team_lead_email,
            "dpo": dpo_email,
            "archivist": archivist_email,
        }

    def address(self, message: StaffMessage) -> str:
        if message.role == "assignee":
            if message.assignee:
                return self._assignee_email.format(handler=message.assignee)
            return self._addresses["team_lead"]
        return self._addresses[message.role]

    async def send(self, message: StaffMessage) -> str:
        mail = EmailMessage()
        to = self.address(message)
        mail["To"], mail["Subject"] = to, message.subject
        mail["Message-ID"] = f"<{message.message_id}@dsr-engine>"
        mail.set_content(message.body)
        await self._server.send(mail)
        return f"smtp:{to}"


class OutboxStaff:
    """Staff messages land in var/outbox/staff/<message id>.json (SMTP comes with escalation)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def delete_case(self, case_number: str) -> int:
        return remove(_of_case(self._directory, case_number))

    async def send(self, message: StaffMessage) -> str:
        target = _private_folder(self._directory) / f"{message.message_id}.json"
        record = {"role": message.role, "subject": message.subject, "body": message.body}
        _write(target, json.dumps(record, ensure_ascii=False, indent=2).encode())
        return str(target)


@dataclass(frozen=True)
class Email:
    """E-mail to a requester of official documents: released copies, a decision. Never an
    extract of personal data (those go by digital mailbox or letter)."""

    # Idempotency key: the outbox writes once; over SMTP it is the Message-ID (at least once:
    # a retry after a lost answer from the server may send twice, recognisably the same).
    message_id: str
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class EmailChannel(Protocol):
    async def send(self, email: Email) -> str: ...


class SmtpEmail:
    """E-mail to requesters over the company's mail server, the files attached."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def send(self, email: Email) -> str:
        mail = EmailMessage()
        mail["To"], mail["Subject"] = email.to, email.subject
        mail["Message-ID"] = f"<{email.message_id}@dsr-engine>"
        mail.set_content(email.body)
        for attachment in email.attachments:
            kind = "html" if attachment.suffix == ".html" else "plain"
            mail.add_attachment(
                attachment.data.decode("utf-8"), subtype=kind, filename=attachment.name
            )
        await self._server.send(mail)
        return f"smtp:{email.message_id}"


class OutboxEmail:
    """E-mail lands in var/outbox/email/<message id>/ (message.json and the attachments)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def delete_case(self, case_number: str) -> int:
        return remove(_of_case(self._directory, case_number))

    async def send(self, email: Email) -> str:
        target = _private_folder(self._directory / email.message_id)
        for attachment in email.attachments:
            _write(target / attachment.name, attachment.data)
        envelope = {
            "message_id": email.message_id,
            "to": email.to,
            "subject": email.subject,
            "body": email.body,
            "attachments": [a.name for a in email.attachments],
        }
        _write(target / "message.json", json.dumps(envelope, ensure_ascii=False, indent=2).encode())
        return str(target)
