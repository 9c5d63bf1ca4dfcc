"""A public-access request as the requester makes it: who to answer (possibly no one), what they
ask for, and the checks that keep personal data out of its description.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from contract.addresses import one_address
from contract.base import Model, non_blank

# --- public access: the request -----------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Identity numbers (ÅÅMMDD-NNNN, ÅÅÅÅMMDDNNNN) and Swedish phone numbers; dates are fine.
_PHONE_OR_NUMBER = re.compile(
    r"\b\d{6}(\d{2})?[-+]?\d{4}\b|(\+46|\b0)\d{1,3}[- ]?\d{2,3}[- ]?\d{2}[- ]?\d{2}\b"
)


def _public_description(text: str) -> str:
    """The register's public entry (diarium): a short description, nothing personal."""
    text = non_blank(text)
    if _EMAIL.search(text) or _PHONE_OR_NUMBER.search(text):
        raise ValueError(
            "the description is public: write what is asked for (e.g. 'Entreprenadavtal om "
            "schaktning 2024') without e-mail addresses, phone or identity numbers"
        )
    return text


# A party searched for that is a company or an authority, not a person.
_COMPANY = re.compile(
    r"\b(AB|HB|KB|aktiebolag|kommun|region|förening|stiftelse|myndighet|verket)\b", re.IGNORECASE
)


def _mentions(text: str, part: str | None) -> bool:
    """`part` appears in `text` as whole words, also in the genitive, whatever the case ("Per
    Holms" names Per Holm; "Bo" is not in "Bokföring")."""
    if not part or not part.strip():
        return False
    pattern = rf"(?<!\w){re.escape(part.strip())}s?(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
PublicDescription = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(_public_description)
]


def _email(text: str) -> str:
    return one_address(text)


class Contact(Model):
    """Where copies and decisions go, only if the requester wants them sent (never required).

    Personal data of the requester: kept in the case, never in the register or in logs."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    email: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)
        ]
        | None
    ) = None
    postal_address: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    ] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _somewhere(self) -> Contact:
        if not self.email and not self.postal_address:
            raise ValueError("a contact needs an e-mail address or a postal address")
        return self


class DocumentQuery(Model):
    """What a requester asks for: by type, date range, party and free text (all must match)."""

    types: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]] = Field(
        default_factory=list, max_length=10
    )
    date_from: date | None = None
    date_to: date | None = None
    party: ShortText | None = None
    text: ShortText | None = None

    @model_validator(mode="after")
    def _something(self) -> DocumentQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("the date range ends before it starts")
        if not (self.types or self.date_from or self.date_to or self.party or self.text):
            raise ValueError("say what is asked for: a type, dates, a party or words in the text")
        return self


class PublicRequest(Model):
    """A request for official documents: who asks is optional, why is never asked."""

    # The name the requester gave, shown in the register; None: "anonymous".
    sender: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    description: PublicDescription
    query: DocumentQuery
    contact: Contact | None = None

    @model_validator(mode="after")
    def _description_names_nobody(self) -> PublicRequest:
        """Neither the requester (name, e-mail, address) nor a person searched for may appear
        in the public description; a company searched for may (it is no personal data)."""
        contact = self.contact
        requester = [self.sender, *((contact.name, contact.email) if contact else ())]
        requester += contact.postal_address if contact else []
        if any(_mentions(self.description, part) for part in requester):
            raise ValueError("the description is public: leave the requester's name out of it")
        party = self.query.party
        if party and not _COMPANY.search(party) and _mentions(self.description, party):
            raise ValueError(
                "the description is public: leave out the person searched for (the search keeps it)"
            )
        return self
