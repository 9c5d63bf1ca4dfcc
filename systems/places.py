"""The places an access answer searches besides the connected systems, each declared once.

The search covers the whole organisation (Art. 15(1), EDPB 01/2022): the connected systems of
``systems/*.yaml``, the document archive (``archive/documents.yaml``: letters, complaints and
contracts that name the subject) and the engine's own case register
(``archive/case_register.yaml``: the subject's earlier requests and the letters sent in them).
The answer names every place searched, found or not, and claims no more.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from infra.declarations import load_declaration

ARCHIVE = "archive"
REGISTER = "register"
# The places searched after the systems, in the order the answer lists them.
PLACES = (ARCHIVE, REGISTER)
DECLARATION = Path(__file__).resolve().parent / "archive" / "case_register.yaml"


class RegisterPlaceDecl(BaseModel):
    """The case register as a place an access answer searches."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^register$")
    title: str = Field(min_length=1)
    label: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1)


class PlaceError(ValueError):
    """The declaration is missing or invalid; the message names the file and field."""


def load_register_place(path: Path = DECLARATION) -> RegisterPlaceDecl:
    return load_declaration(path, RegisterPlaceDecl, PlaceError)
