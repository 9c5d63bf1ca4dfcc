"""Adapters plugged in by import path, as an organisation's own are (DSR_EID_PROVIDER and the
others): shaped like the real services, they keep what they are handed in memory and write
nothing under var_dir."""

from __future__ import annotations

from infra.adapters import EidCompletion, Letter, MailboxMessage, RecipientNotice
from infra.config import Settings


class HeldEid:
    async def collect(self, order_ref: str) -> EidCompletion | None:
        return None  # no order completes: nobody signs in this process


class HeldMailbox:
    def __init__(self) -> None:
        self.sent: list[MailboxMessage] = []

    async def has_mailbox(self, recipient: str) -> bool:
        return True

    async def send(self, message: MailboxMessage) -> str:
        self.sent.append(message)
        return f"mailbox:{message.message_id}"


class HeldLetters:
    def __init__(self) -> None:
        self.posted: list[Letter] = []

    async def post(self, letter: Letter) -> str:
        self.posted.append(letter)
        return f"print:{letter.letter_id}"


class HeldRecipients:
    def __init__(self) -> None:
        self.sent: list[RecipientNotice] = []

    async def send(self, notice: RecipientNotice) -> str:
        self.sent.append(notice)
        return f"recipient:{notice.notice_id}"


def eid_provider(settings: Settings) -> HeldEid:
    return HeldEid()


def digital_mailbox(settings: Settings) -> HeldMailbox:
    return HeldMailbox()


def letter_service(settings: Settings) -> HeldLetters:
    return HeldLetters()


def recipient_channel(settings: Settings) -> HeldRecipients:
    return HeldRecipients()
