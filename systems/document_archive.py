"""The document archive: official documents anyone may ask for (offentlighetsprincipen).

Declared in ``systems/archive/documents.yaml`` (which columns hold the type, date, parties,
text and page count); this module loads the declaration and searches it (demo/archive.py seeds
the demo's archive). A search locates candidates only: every document is then reviewed for
secrecy (sekretessprövning) before anything is released.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.declarations import load_declaration

DECLARATION = Path(__file__).resolve().parent / "archive" / "documents.yaml"
_Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
# A search returns at most this many candidates; a handler narrows a wider one.
MAX_HITS = 200


class ArchiveColumns(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: _Name
    date: _Name
    title: _Name
    parties: _Name
    text: _Name
    pages: _Name


class PartiesDecl(BaseModel):
    """The table of who each document names: a row per party, a private person with the
    identity number where the registry knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    table: _Name
    document: _Name
    personal_number: _Name
    name: _Name
    address: _Name
    person: _Name


class SubjectAccessDecl(BaseModel):
    """How an access answer (Art. 15) presents the documents that name the subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    label: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1)


class ArchiveDecl(BaseModel):
    """The declaration of a document archive: one table and what each column holds, and the
    parties each document names."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: _Name
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    table: _Name
    primary_key: _Name
    columns: ArchiveColumns
    document_types: dict[_Name, str] = Field(min_length=1)
    parties: PartiesDecl
    subject_access: SubjectAccessDecl


class ArchiveError(ValueError):
    """The declaration is missing or invalid; the message names the file and field."""


def load_archive(path: Path = DECLARATION) -> ArchiveDecl:
    return load_declaration(path, ArchiveDecl, ArchiveError)


@dataclass(frozen=True)
class DocumentRef:
    """A candidate document: enough for a handler to confirm the list, not its text."""

    document_id: int
    type: str
    date: date
    title: str
    pages: int


@dataclass(frozen=True)
class DocumentSearch:
    """What a requester asks for; every part optional, all parts must match."""

    types: Collection[str] = ()
    date_from: date | None = None
    date_to: date | None = None
    party: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("search: the date range ends before it starts")
        for name, value in (("party", self.party), ("text", self.text)):
            if value is not None and not 2 <= len(value.strip()) <= 200:
                raise ValueError(f"search: {name} must be 2-200 characters")


def documents_table(decl: ArchiveDecl) -> sa.Table:
    c = decl.columns
    return sa.Table(
        decl.table,
        sa.MetaData(),
        sa.Column(decl.primary_key, sa.Integer, primary_key=True),
        sa.Column(c.type, sa.String(32), nullable=False, index=True),
        sa.Column(c.date, sa.Date, nullable=False, index=True),
        sa.Column(c.title, sa.String(200), nullable=False),
        sa.Column(c.parties, sa.String(500), nullable=False),
        sa.Column(c.text, sa.Text, nullable=False),
        sa.Column(c.pages, sa.Integer, nullable=False),
    )


def parties_table(decl: ArchiveDecl) -> sa.Table:
    p = decl.parties
    return sa.Table(
        p.table,
        sa.MetaData(),
        sa.Column("party_id", sa.Integer, primary_key=True),
        sa.Column(p.document, sa.Integer, nullable=False, index=True),
        sa.Column(p.personal_number, sa.String(12), index=True),
        sa.Column(p.name, sa.String(200), nullable=False),
        sa.Column(p.address, sa.String(200)),
        sa.Column(p.person, sa.Boolean, nullable=False),
    )


@dataclass(frozen=True)
class Party:
    """Someone a document names: a private person (with the identity number where known) or an
    organisation."""

    name: str
    personal_number: str | None
    address: str | None
    person: bool


@dataclass(frozen=True)
class SubjectDocument:
    """A document that names the subject: what it is, its text, and every party it names."""

    document: DocumentRef
    text: str
    parties: tuple[Party, ...]


async def documents_naming(
    engine: AsyncEngine, decl: ArchiveDecl, subject_id: str
) -> list[SubjectDocument]:
    """Every document whose parties include the subject by identity number (Art. 15: the
    search covers the document archive), oldest first, with their texts and all their parties.
    The number is bound as a parameter, never spliced into SQL."""
    table, parties, c, p = documents_table(decl), parties_table(decl), decl.columns, decl.parties
    mine = sa.select(parties.c[p.document]).where(parties.c[p.personal_number] == subject_id)
    query = (
        sa.select(
            table.c[decl.primary_key],
            table.c[c.type],
            table.c[c.date],
            table.c[c.title],
            table.c[c.pages],
            table.c[c.text],
        )
        .where(table.c[decl.primary_key].in_(mine))
        .order_by(table.c[c.date], table.c[decl.primary_key])
    )
    async with engine.connect() as conn:
        found = (await conn.execute(query)).all()
        ids = [int(row[0]) for row in found]
        named = (
            await conn.execute(
                sa.select(
                    parties.c[p.document],
                    parties.c[p.name],
                    parties.c[p.personal_number],
                    parties.c[p.address],
                    parties.c[p.person],
                )
                .where(parties.c[p.document].in_(ids))
                .order_by(parties.c["party_id"])
            )
        ).all()
    by_document: dict[int, list[Party]] = {}
    for document_id, name, number, address, person in named:
        by_document.setdefault(int(document_id), []).append(
            Party(str(name), number, address, bool(person))
        )
    return [
        SubjectDocument(
            DocumentRef(int(r[0]), str(r[1]), r[2], str(r[3]), int(r[4])),
            str(r[5]),
            tuple(by_document.get(int(r[0]), ())),
        )
        for r in found
    ]


def _like(text: str) -> str:
    """A LIKE pattern that matches `text` literally: %, _ and the escape character ! are
    escaped, so a search for "10%" finds "10%", not everything."""
    escaped = text.strip().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


async def search_documents(
    engine: AsyncEngine, decl: ArchiveDecl, search: DocumentSearch
) -> list[DocumentRef]:
    """Candidates for a request, oldest first, at most MAX_HITS; values are bound, never
    spliced into SQL, and free text matches literally, case-insensitively."""
    unknown = sorted(set(search.types) - set(decl.document_types))
    if unknown:
        raise ValueError(f"search: unknown document type {', '.join(unknown)}")
    table, c = documents_table(decl), decl.columns
    where: list[sa.ColumnElement[bool]] = []
    if search.types:
        where.append(table.c[c.type].in_(sorted(search.types)))
    if search.date_from:
        where.append(table.c[c.date] >= search.date_from)
    if search.date_to:
        where.append(table.c[c.date] <= search.date_to)
    if search.party:
        where.append(table.c[c.parties].ilike(_like(search.party), escape="!"))
    if search.text:
        pattern = _like(search.text)
        where.append(
            sa.or_(
                table.c[c.title].ilike(pattern, escape="!"),
                table.c[c.text].ilike(pattern, escape="!"),
            )
        )
    query = (
        sa.select(
            table.c[decl.primary_key],
            table.c[c.type],
            table.c[c.date],
            table.c[c.title],
            table.c[c.pages],
        )
        .where(*where)
        .order_by(table.c[c.date], table.c[decl.primary_key])
        .limit(MAX_HITS)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [DocumentRef(int(r[0]), str(r[1]), r[2], str(r[3]), int(r[4])) for r in rows]


async def document_text(engine: AsyncEngine, decl: ArchiveDecl, document_id: int) -> str:
    """The full text of one document, for the handler's secrecy review."""
    table = documents_table(decl)
    query = sa.select(table.c[decl.columns.text]).where(table.c[decl.primary_key] == document_id)
    async with engine.connect() as conn:
        text = (await conn.execute(query)).scalar()
    if text is None:
        raise LookupError(f"document {document_id} is not in the archive")
    return str(text)
