"""The demo archive: generated documents of every kind a secrecy review meets, and the two that
name a customer by identity number, seeded into the registry's archive database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from infra.db import create_engine
from systems.document_archive import Party, documents_table, load_archive, parties_table

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
    table, party_table, p = documents_table(decl), parties_table(decl), decl.parties
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
            for schema in (table.metadata, party_table.metadata):
                await conn.run_sync(schema.drop_all)
                await conn.run_sync(schema.create_all)
            await conn.execute(sa.insert(table), rows)
            await conn.execute(sa.insert(party_table), parties)
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
