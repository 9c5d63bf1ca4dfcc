"""Interfaces to parties outside the company: the e-ID provider, the population register
(SPAR), the secure digital mailbox, the print service, the recipients of Art. 19 notices, and
the staff's and requesters' e-mail. The engine talks to them only through these protocols; the
demo's stand-ins are in infra/outbox.py, the SMTP adapters in infra/smtp.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class HoldsCaseFiles(Protocol):
    """An adapter that keeps files of its own about a case (the demo's outboxes)."""

    def delete_case(self, case_number: str) -> int:
        """Remove the case's files; how many there were (0 when already gone)."""
        ...


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


@dataclass(frozen=True)
class Letter:
    letter_id: str
    address_lines: tuple[str, ...]
    body_html: str
    enclosures: tuple[Attachment, ...] = ()


class LetterService(Protocol):
    async def post(self, letter: Letter) -> str: ...


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
