"""The document archive: official documents anyone may ask for (offentlighetsprincipen).

Declared in ``systems/archive/documents.yaml`` (which columns hold the type, date, parties,
text and page count); this module loads the declaration, searches it, and seeds the demo
archive. A search locates candidates only: every document is then reviewed for secrecy
(sekretessprövning) before anything is released.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.db import create_engine
from infra.declarations import load_declaration
from systems.demo import DEMO_SUBJECTS, FILLER_SUBJECTS

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


def _table(decl: ArchiveDecl) -> sa.Table:
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


def _parties_table(decl: ArchiveDecl) -> sa.Table:
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
    table, parties, c, p = _table(decl), _parties_table(decl), decl.columns, decl.parties
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
    table, c = _table(decl), decl.columns
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
    table = _table(decl)
    query = sa.select(table.c[decl.columns.text]).where(table.c[decl.primary_key] == document_id)
    async with engine.connect() as conn:
        text = (await conn.execute(query)).scalar()
    if text is None:
        raise LookupError(f"document {document_id} is not in the archive")
    return str(text)


# --- the demo archive -------------------------------------------------------------------------

_SEED = 20261127
# Kinds of secret a reviewer must find: a protected address (OSL 21:3), a business's prices
# and terms (OSL 31:16), a private person's details in correspondence (OSL 21:7 misuse risk).
PROTECTED_ADDRESS = "Gläntans väg 6, 753 20 Uppsala"
CONTRACTORS = ("Elnätsentreprenad AB", "Mälarfiber AB", "Nordnät Bredband AB", "Kabelbolaget AB")


async def seed_archive(url: str, *, documents: int = 300) -> dict[str, list[int]]:
    """Drop, recreate and fill the demo archive; return document ids by kind of content:
    ``plain``, ``personal`` (a private person named), ``protected_address``, ``trade``.

    After the generated documents come two that name a customer by identity number, found by
    his access request: a complaint of his that names a neighbour (masked in his copy, Art.
    15(4)) and his fibre contract."""
    decl = load_archive()
    table, parties_table, p = _table(decl), _parties_table(decl), decl.parties
    rng = random.Random(_SEED)
    rows: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []

    def named(document_id: int, party: Party) -> None:
        parties.append(
            {
                "party_id": len(parties) + 1,
                p.document: document_id,
                p.personal_number: party.personal_number,
                p.name: party.name,
                p.address: party.address,
                p.person: party.person,
            }
        )

    kinds: dict[str, list[int]] = {
        "plain": [],
        "personal": [],
        "protected_address": [],
        "trade": [],
    }
    start = date(2019, 1, 1)
    c = decl.columns
    for document_id in range(1, documents + 1):
        doc_type = rng.choice(sorted(decl.document_types))
        when = start + timedelta(days=rng.randint(0, 2850))
        title, parties_text, body, kind = _document(rng, doc_type, document_id, when)
        rows.append(
            {
                decl.primary_key: document_id,
                c.type: doc_type,
                c.date: when,
                c.title: title,
                c.parties: parties_text,
                c.text: body,
                c.pages: 1 + len(body) // 1800 + rng.randint(0, 12),
            }
        )
        kinds[kind].append(document_id)
        for index, name in enumerate(parties_text.split("; ")):
            person = index > 0 and kind in ("personal", "protected_address")
            protected = person and name == "Sanna Ek"
            named(
                document_id,
                Party(
                    name,
                    _SANNA_EK if protected else None,
                    PROTECTED_ADDRESS if protected else None,
                    person,
                ),
            )
    for document in _DOCUMENTS_NAMING_A_CUSTOMER:
        document_id = len(rows) + 1
        rows.append(
            {
                decl.primary_key: document_id,
                c.type: document.type,
                c.date: document.date,
                c.title: document.title,
                c.parties: "; ".join(party.name for party in document.parties),
                c.text: document.text,
                c.pages: 1,
            }
        )
        kinds["personal"].append(document_id)
        for party in document.parties:
            named(document_id, party)
    engine = create_engine(url, own_database=False)
    try:
        async with engine.begin() as conn:
            for schema in (table.metadata, parties_table.metadata):
                await conn.run_sync(schema.drop_all)
                await conn.run_sync(schema.create_all)
            await conn.execute(sa.insert(table), rows)
            await conn.execute(sa.insert(parties_table), parties)
    finally:
        await engine.dispose()
    return kinds


_COMPANY = "Stadsnät och Elnät i Exempelstad AB"
_SANNA_EK = DEMO_SUBJECTS["protected"]
_TOLVAN = DEMO_SUBJECTS["tolvan"]
_HOLM = FILLER_SUBJECTS["holm"]


@dataclass(frozen=True)
class _NamedDocument:
    type: str
    date: date
    title: str
    text: str
    parties: tuple[Party, ...]


# Documents that name a customer by identity number, as the registry records its parties.
NEIGHBOUR = "Anders Holm"
NEIGHBOUR_ADDRESS = "Kvarnfallsgatan 4"
_DOCUMENTS_NAMING_A_CUSTOMER = (
    _NamedDocument(
        "correspondence",
        date(2025, 9, 12),
        "Klagomål på mätarskåp i gemensam källare",
        "Tolvan Tolvansson, Blåklintsgränd 12, 722 12 Västerås, skriver att grannen "
        f"{NEIGHBOUR}, {NEIGHBOUR_ADDRESS},\nhar brutit plomberingen på det gemensamma "
        f"mätarskåpet och flyttat säkringar. Tolvan Tolvansson ber bolaget kontrollera "
        f"mätaren. Bolaget har besökt platsen; {NEIGHBOUR.upper()} var inte hemma.",
        (
            Party(_COMPANY, None, None, False),
            Party("Tolvan Tolvansson", _TOLVAN, "Blåklintsgränd 12, 722 12 Västerås", True),
            Party(NEIGHBOUR, _HOLM, NEIGHBOUR_ADDRESS, True),
        ),
    ),
    _NamedDocument(
        "contract",
        date(2024, 3, 1),
        "Avtal om fiberanslutning, Blåklintsgränd 12",
        f"Avtal mellan {_COMPANY} och Tolvan Tolvansson om anslutning till stadsnätet med "
        "fiber från och med 1 mars 2024. Avtalet löper tills vidare med en månads "
        "uppsägningstid.",
        (
            Party(_COMPANY, None, None, False),
            Party("Tolvan Tolvansson", _TOLVAN, "Blåklintsgränd 12, 722 12 Västerås", True),
        ),
    ),
)


def _document(
    rng: random.Random, doc_type: str, number: int, when: date
) -> tuple[str, str, str, str]:
    """(title, parties, text, kind of content) of one plausible document."""
    company = "Stadsnät och Elnät i Exempelstad AB"
    contractor = rng.choice(CONTRACTORS)
    if doc_type == "board_minutes":
        return (
            f"Protokoll styrelsemöte {when:%Y-%m-%d}",
            company,
            f"Styrelsen beslutade om investeringsplan för elnätet {when.year + 1} och om "
            "utbyggnad av stadsnätet i nya bostadsområden. Budgeten fastställdes.",
            "plain",
        )
    if doc_type == "contractor_agreement":
        price = rng.randint(180, 950) * 1000
        return (
            f"Entreprenadavtal {number}: {contractor}",
            f"{company}; {contractor}",
            f"Avtal om schaktning och kabelförläggning. Ersättning {price} kr. "
            f"Timpris {rng.randint(650, 1100)} kr och rabattsats {rng.randint(5, 18)} % enligt "
            "bilaga, som innehåller leverantörens kalkyl.",
            "trade",
        )
    if doc_type == "outage_report":
        return (
            f"Avbrottsrapport {when:%Y-%m-%d}",
            company,
            f"Avbrott i nätstation VST-{rng.randint(100, 999)} i {rng.randint(1, 6)} timmar "
            f"efter kabelfel. Berörda kunder: {rng.randint(40, 900)}. Orsak: grävskada.",
            "plain",
        )
    if doc_type == "correspondence" and number % 7 == 0:
        # As letters are written: the address broken over two lines, the name signed in
        # capitals. A reviewer masks "Sanna Ek" and the address once; every form must go.
        street, town = PROTECTED_ADDRESS.split(", ")
        return (
            f"Skrivelse från Sanna Ek om flytt av elmätare ({number})",
            f"{company}; Sanna Ek",
            f"Sanna Ek, {street},\n{town}, begär att elmätaren flyttas. Kunden har "
            "skyddade personuppgifter.\n\nMed vänlig hälsning\nSANNA EK",
            "protected_address",
        )
    if doc_type in ("correspondence", "invoice", "contract"):
        person = rng.choice(("Tolvan Tolvansson", "Per Holm", "Lena Sjöberg", "Ali Hassan"))
        what = {
            "correspondence": "Klagomål på faktura och fråga om nätavgiften",
            "invoice": "Faktura nätavgift",
            "contract": "Avtal om elnätsanslutning",
        }[doc_type]
        return (
            f"{what} ({number})",
            f"{company}; {person}",
            f"{what} för {person}, Storgatan {rng.randint(1, 80)}, Västerås. "
            f"Belopp {rng.randint(300, 9000)} kr.",
            "personal",
        )
    return (f"Handling {number}", company, "Internt underlag.", "plain")
