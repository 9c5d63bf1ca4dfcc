"""The load's subjects: valid synthetic identity numbers, and their rows in the demo's billing,
network and marketing systems, so that every GDPR request has a person of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum import luhn

from contract.subject import parse_subject_id
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from demo.schemas import SYSTEM_TABLES
from infra.db import create_engine

# Every synthetic subject has this birth number (NNN of YYYYMMDD-NNNC), which no demo person has.
_SERIAL = "981"
_FIRST_BIRTH_DAY = date(1950, 1, 1)


# --- subjects ------------------------------------------------------------------------------


def synthetic_subjects(count: int) -> list[str]:
    """`count` valid personnummer (12 digits), one birth day each from 1950 on, none a demo
    person's."""
    taken = {*DEMO_SUBJECTS.values(), *FILLER_SUBJECTS.values()}
    subjects: list[str] = []
    for offset in range(count):
        born = _FIRST_BIRTH_DAY + timedelta(days=offset)
        if born >= date(2000, 1, 1):
            raise ValueError("synthetic_subjects: at most 18262 subjects")
        short = f"{born:%y%m%d}{_SERIAL}"
        number = parse_subject_id(f"{born:%Y}{short[2:]}{luhn.calc_check_digit(short)}")
        if number in taken:
            raise ValueError("synthetic_subjects: a generated number is a demo person's")
        subjects.append(number)
    return subjects


async def seed_subjects(urls: Mapping[str, str], subjects: Sequence[str]) -> None:
    """Add the subjects to the seeded demo systems as customers without a contract: a billing
    customer, a network customer, and a marketing contact with a consent, shared with a fibre
    service provider. The other demo data is left as it is."""
    people = [_person(n, subject) for n, subject in enumerate(subjects, start=1)]
    await _into(urls["billing"], _billing_rows, people)
    await _into(urls["network"], _network_rows, people)
    await _into(urls["marketing"], _marketing_rows, people)


def _person(n: int, subject: str) -> dict[str, Any]:
    return {
        "personal_number": subject,
        "name": f"Lasse Lasttest {n}",
        "street": f"Provvägen {n}",
        "postal_code": "722 40",
        "city": "Västerås",
        "email": f"lasse.lasttest.{n}@example.se",
        "phone": f"070-555 {n:04d}",
    }


async def _into(
    url: str,
    fill: Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]],
    people: list[dict[str, Any]],
) -> None:
    engine = create_engine(url, own_database=False)
    try:
        async with engine.begin() as conn:
            await fill(conn, people)
    finally:
        await engine.dispose()


async def _append(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows with the next primary keys (the demo's keys are not autoincrement)."""
    (key,) = table.primary_key.columns
    last = await conn.scalar(sa.select(sa.func.max(key))) or 0
    keyed = [{key.name: last + n, **row} for n, row in enumerate(rows, start=1)]
    if keyed:
        await conn.execute(sa.insert(table), keyed)
    return [row[key.name] for row in keyed]


async def _billing_rows(conn: AsyncConnection, people: list[dict[str, Any]]) -> None:
    customers = SYSTEM_TABLES["billing"].tables["customers"]
    await _append(conn, customers, [{**p, "protected_identity": False} for p in people])


async def _network_rows(conn: AsyncConnection, people: list[dict[str, Any]]) -> None:
    customers = SYSTEM_TABLES["network"].tables["network_customers"]
    rows = [
        {key: p[key] for key in ("personal_number", "name", "street", "postal_code", "city")}
        | {"customer_since": date(2024, 1, 1)}
        for p in people
    ]
    await _append(conn, customers, rows)


async def _marketing_rows(conn: AsyncConnection, people: list[dict[str, Any]]) -> None:
    tables = SYSTEM_TABLES["marketing"].tables
    contacts = await _append(
        conn,
        tables["contacts"],
        [
            {key: p[key] for key in ("personal_number", "name", "email", "phone")}
            | {"created_at": date(2025, 1, 15)}
            for p in people
        ],
    )
    given = datetime(2025, 1, 15, 9, 30)
    await _append(
        conn,
        tables["consents"],
        [
            {
                "contact_id": contact,
                "channel": "email",
                "purpose": "Nyheter och erbjudanden om fiber och bredband",
                "given_at": given,
                "withdrawn_at": None,
            }
            for contact in contacts
        ],
    )
    await _append(
        conn,
        tables["shared_with_providers"],
        [
            {
                "contact_id": contact,
                "service_provider": "Nordnät Bredband AB",
                "shared_at": given,
                "data_categories": "identifier,contact",
            }
            for contact in contacts
        ],
    )
