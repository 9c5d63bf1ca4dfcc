"""The shared types of every payload: case numbers, subject and handler ids, reasons, the
frozen model base and the input every handler action extends.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from contract.vocabulary import CASE_NUMBER_PATTERN, Kind

CaseNumber = Annotated[str, StringConstraints(pattern=CASE_NUMBER_PATTERN)]
SubjectId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
_HANDLER_ID = re.compile(r"(?=.*[^\W\d_])[\w.-]{1,64}")
_LOOKS_LIKE_IDENTITY_NUMBER = re.compile(r"\d{6}")


def _handler_id(text: str) -> str:
    # Handler ids become search attributes and trail rows: an identity number typed into the
    # wrong option must not get there.
    if not _HANDLER_ID.fullmatch(text) or _LOOKS_LIKE_IDENTITY_NUMBER.search(text):
        raise ValueError(
            "a handler id is 1-64 letters, digits, '.', '_' or '-', with at least one letter "
            "and no run of six digits"
        )
    return text


# Handler ids are short, printable and free of personal data (an employee id or login).
HandlerId = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_handler_id)]


def non_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text.strip()


Reason = Annotated[str, StringConstraints(max_length=2000), AfterValidator(non_blank)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# One per action a person takes: the case service's client gives each update it sends a fresh
# one (infra.client), and a case refuses an id it has already seen (workflows.roles), so an
# action read from a history and sent again does nothing.
ActionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class HandlerAction(Model):
    """The input of an update a person takes on a case: who (`handler`), a one-time id, and
    the case it was made for. The case service's client sets both (infra.client); the case
    refuses an action made for another (workflows.guard), so even a payload sealed before
    payloads were bound to their case does nothing elsewhere."""

    action_id: ActionId | None = None
    for_case: Annotated[str, StringConstraints(max_length=100)] | None = None


# The GDPR kinds: each concerns one data subject, identified by their identity number.
GDPR_KINDS = frozenset(k for k in Kind if k is not Kind.PUBLIC_ACCESS)


# The fields as a Swedish letter names them.
FIELDS_SV: dict[str, str] = {
    "name": "namn",
    "street": "gatuadress",
    "postal_code": "postnummer",
    "city": "ort",
    "email": "e-postadress",
    "phone": "telefonnummer",
}
