"""The demo's and the tests' stand-ins for the parties outside the company (infra/adapters.py).

They keep the shape of the real APIs (an order reference to collect, a message with
attachments to a recipient's identity number) and write to files under var/ instead of the
network. Those files hold personal data in the clear (they stand for what has left the
company), so they are the owner's only (folders 0700, files 0600), they go when the case's other
files go (`delete_case`, called by the extract store's disposal), and production refuses these
adapters (infra.config).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from infra.adapters import (
    EidCompletion,
    Email,
    Letter,
    MailboxMessage,
    RecipientNotice,
    SparPerson,
    StaffMessage,
)
from infra.files import remove, write_atomically


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
