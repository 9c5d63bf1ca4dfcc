"""The adapters to what is outside the engine, chosen by settings: the demo's by name, the
organisation's own by import path ("package.module:factory", called with the settings)."""

from __future__ import annotations

import importlib
from typing import Any

from infra.adapters import DigitalMailbox, EidProvider, LetterService, RecipientChannel
from infra.config import DEMO_ADAPTERS, Settings
from infra.outbox import FakeEidProvider, OutboxMailbox, OutboxRecipients, PrintFolderLetters


class AdapterError(ValueError):
    """An adapter named in the settings that cannot be loaded."""


def _plugged(settings: Settings, field: str) -> Any:
    spec: str = getattr(settings, field)
    module_name, _, attribute = spec.partition(":")
    name = f"DSR_{field.upper()}"
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise AdapterError(f"{name}: {spec} cannot be loaded ({type(error).__name__})") from None
    return factory(settings)


def _demo(settings: Settings, field: str) -> bool:
    return bool(getattr(settings, field) == DEMO_ADAPTERS[field])


def eid_provider(settings: Settings) -> EidProvider:
    if _demo(settings, "eid_provider"):
        return FakeEidProvider(settings.eid_dir)
    provider: EidProvider = _plugged(settings, "eid_provider")
    return provider


def digital_mailbox(settings: Settings) -> DigitalMailbox:
    if _demo(settings, "digital_mailbox"):
        return OutboxMailbox(
            settings.outbox_dir / "digital-mailbox",
            without_mailbox=settings.outbox_without_mailbox,
        )
    mailbox: DigitalMailbox = _plugged(settings, "digital_mailbox")
    return mailbox


def letter_service(settings: Settings) -> LetterService:
    if _demo(settings, "letter_service"):
        return PrintFolderLetters(settings.outbox_dir / "letters")
    letters: LetterService = _plugged(settings, "letter_service")
    return letters


def recipient_channel(settings: Settings) -> RecipientChannel:
    if _demo(settings, "recipient_channel"):
        return OutboxRecipients(settings.outbox_dir / "recipients")
    channel: RecipientChannel = _plugged(settings, "recipient_channel")
    return channel
