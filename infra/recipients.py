"""The recipients register (mottagarregister): who receives customer data, and where an Art. 19
notice reaches them.

GDPR Art. 19: the controller tells each recipient to whom the data were disclosed of a
rectification, an erasure or a restriction, and tells the subject who they were if asked. A
notice is only real when it goes to a real recipient: the register names each by name with an
e-mail or postal address. A recipient known to a system only as a category ("your electricity
supplier") is resolved through the system that knows which one (systems/*.yaml), or handed to a
handler as a category to notify. Read from ``config/recipients.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contract.addresses import one_address
from infra.declarations import load_declaration

RecipientKind = Literal[
    "authority",
    "supplier",
    "processor",
    "service_provider",
    "insurer",
    "contractor",
    "collection",
    "bank",
]
# A recipient's kind as the subject reads it.
KINDS_SV: dict[str, str] = {
    "authority": "myndighet",
    "supplier": "elhandlare",
    "processor": "personuppgiftsbiträde",
    "service_provider": "tjänsteleverantör i stadsnätet",
    "insurer": "försäkringsbolag",
    "contractor": "entreprenör",
    "collection": "inkassoföretag",
    "bank": "bank eller betaltjänstleverantör",
}


class Recipient(BaseModel):
    """One recipient and where its notices go: e-mail first, else a letter."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: RecipientKind
    email: Annotated[str, AfterValidator(one_address)] | None = None
    address: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=6
    )

    @model_validator(mode="after")
    def _reachable(self) -> Recipient:
        if not self.email and not self.address:
            raise ValueError("give an email or an address: a notice must reach the recipient")
        return self


class RecipientsRegister(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    recipients: dict[Annotated[str, Field(min_length=1, max_length=200)], Recipient]

    def find(self, name: str) -> Recipient | None:
        return self.recipients.get(name)

    def kind_sv(self, name: str) -> str | None:
        found = self.recipients.get(name)
        return KINDS_SV[found.kind] if found else None


class RecipientsError(ValueError):
    """The register is missing or invalid; the message names the file and field."""


DEFAULT_RECIPIENTS = Path(__file__).resolve().parent.parent / "config" / "recipients.yaml"


def load_recipients(path: Path = DEFAULT_RECIPIENTS) -> RecipientsRegister:
    return load_declaration(path, RecipientsRegister, RecipientsError)
