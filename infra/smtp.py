"""E-mail through an SMTP server: staff notices (the DPO, team leads, the assignee) and the
requesters' answers where a public-access request asked for e-mail.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from contract.addresses import is_one_address
from infra.adapters import Email, PermanentDeliveryError, StaffMessage


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
