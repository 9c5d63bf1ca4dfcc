"""Demo databases for the connected systems, seeded with synthetic, deterministic customers.

`make demo`/`make run` and the tests seed the four systems through `seed_demo_systems`. The data
is the same on every run (fixed random seed, dates anchored at a fixed reference day), and the
generator records which rows belong to whom while it writes them: the `SeedManifest` is an
oracle for tests that does not share any logic with the connector it checks.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS, PEOPLE, Person
from demo.schemas import SYSTEM_TABLES

# The demo's "today": readings end just before it, so nothing depends on the wall clock.
REFERENCE_DAY = date(2026, 11, 1)
_SEED = 20261101
_CHUNK_ROWS = 10_000
_SHORT_SERIES_DAYS = 30

_Row = dict[str, Any]


@dataclass(frozen=True)
class SeedManifest:
    """Which rows the generator wrote for whom: subject id -> system -> table -> primary keys.

    Every demo person is present (also "unknown", with empty sets), and every table of every
    system, so a test can compare an extract with it table by table.
    """

    subjects: dict[str, dict[str, dict[str, frozenset[int]]]]

    def rows_of(self, subject_id: str, system: str) -> dict[str, frozenset[int]]:
        """Primary keys per table of the rows in `system` that belong to the subject."""
        return self.subjects[subject_id][system]


def default_urls(var_dir: Path) -> dict[str, str]:
    """SQLite URLs of the demo systems under ``var_dir/systems`` (absolute: the cwd may move)."""
    base = var_dir.resolve() / "systems"
    return {name: f"sqlite+aiosqlite:///{base / name}.db" for name in SYSTEM_TABLES}


async def seed_demo_systems(urls: Mapping[str, str], *, reading_years: int = 2) -> SeedManifest:
    """Drop, recreate and fill the four demo databases; return who owns which rows.

    Meter readings are hourly: ``reading_years`` years for the customers with a long series,
    the last 30 days for the others.
    """
    missing = sorted(set(SYSTEM_TABLES) - set(urls))
    if missing:
        raise ValueError(f"seed_demo_systems: no database URL for {', '.join(missing)}")
    if reading_years < 1:
        raise ValueError("seed_demo_systems: reading_years must be at least 1")
    demo = _generate(reading_years)
    for system, metadata in SYSTEM_TABLES.items():
        url = sa.make_url(urls[system])
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)
                await conn.run_sync(metadata.create_all)
                for table in metadata.sorted_tables:
                    await _insert(conn, table, demo.rows[system][table.name])
                if system == "network":
                    await _insert(conn, metadata.tables["meter_readings"], demo.readings())
        finally:
            await engine.dispose()
    return SeedManifest(
        subjects={
            subject: {
                system: {table: frozenset(keys) for table, keys in tables.items()}
                for system, tables in systems.items()
            }
            for subject, systems in demo.owned.items()
        }
    )


async def select_campaign_audience(engine: AsyncEngine) -> list[str]:
    """The marketing system's pick for its next campaign: contact ids, as strings, ascending.

    Contact ids rather than identity numbers: a newsletter sign-up without a number is in the
    audience too, and a campaign tool has no need for anyone's number. A contact is picked when
    it has a consent that is not withdrawn, has not objected to direct marketing (Art. 21(2)),
    and its processing is not restricted (Art. 18): this is the demo's processing that a
    restriction or an objection must stop. An objection outlives the contact it was made on: a
    contact re-imported later with the same identity number is left out too (the suppression
    record an erasure keeps is there for this).
    """
    tables = SYSTEM_TABLES["marketing"].tables
    contacts, consents = tables["contacts"], tables["consents"]
    open_consent = (
        sa.select(consents.c.contact_id).where(consents.c.withdrawn_at.is_(None)).scalar_subquery()
    )
    objected = sa.select(contacts.c.personal_number).where(
        contacts.c.marketing_objection.is_(True), contacts.c.personal_number.is_not(None)
    )
    query = (
        sa.select(contacts.c.contact_id)
        .where(
            contacts.c.contact_id.in_(open_consent),
            contacts.c.marketing_objection.is_(False),
            contacts.c.processing_restricted.is_(False),
            sa.or_(
                contacts.c.personal_number.is_(None),
                contacts.c.personal_number.not_in(objected.scalar_subquery()),
            ),
        )
        .order_by(contacts.c.contact_id)
    )
    async with engine.connect() as conn:
        return [str(contact_id) for contact_id in (await conn.execute(query)).scalars()]


async def _insert(conn: AsyncConnection, table: sa.Table, rows: Iterable[_Row]) -> None:
    # Chunks keep memory flat for the readings and still let the driver batch (executemany).
    chunk: list[_Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK_ROWS:
            await conn.execute(sa.insert(table), chunk)
            chunk = []
    if chunk:
        await conn.execute(sa.insert(table), chunk)


_PROVIDERS = ("Nordnät Bredband AB", "Mälarfiber AB", "Lokal-TV i Mälardalen AB")
_SUPPLIERS = ("Mälarenergi Elhandel AB", "Västerås Elhandel AB")
_SERVICES = ("Bredband 1000/1000", "Bredband 250/250", "Bredband 100/100", "IP-telefoni", "TV Bas")
_CREDIT_AGENCY = "UC AB"


@dataclass
class _Series:
    """One metering point's hourly readings, generated lazily at insert time."""

    metering_point_id: int
    first_reading_id: int
    start: datetime
    hours: int


@dataclass
class _Demo:
    rows: dict[str, dict[str, list[_Row]]]
    owned: dict[str, dict[str, dict[str, set[int]]]]
    series: list[_Series] = field(default_factory=list)
    reading_count: int = 0

    def add(self, system: str, table: str, owners: Iterable[str], **values: Any) -> int:
        """Append a row with the next primary key and record who it belongs to."""
        rows = self.rows[system][table]
        key = len(rows) + 1
        (pk_column,) = SYSTEM_TABLES[system].tables[table].primary_key.columns
        rows.append({pk_column.name: key, **values})
        for owner in owners:
            self.owned[owner][system][table].add(key)
        return key

    def add_series(self, metering_point_id: int, owner: str, start: datetime, hours: int) -> None:
        first = self.reading_count + 1
        self.series.append(_Series(metering_point_id, first, start, hours))
        self.reading_count += hours
        self.owned[owner]["network"]["meter_readings"].update(range(first, first + hours))

    def readings(self) -> Iterator[_Row]:
        for series in self.series:
            yield from _hourly_readings(series)


def _generate(reading_years: int) -> _Demo:
    """Build every row of the demo in memory (except readings, which are generated lazily)."""
    demo = _Demo(
        rows={s: {t: [] for t in md.tables} for s, md in SYSTEM_TABLES.items()},
        owned={
            person.personal_number: {
                s: {t: set() for t in md.tables} for s, md in SYSTEM_TABLES.items()
            }
            for person in PEOPLE
        },
    )
    rng = random.Random(_SEED)
    people = {person.personal_number: person for person in PEOPLE}
    joint_a = people[DEMO_SUBJECTS["joint_a"]]
    joint_b = people[DEMO_SUBJECTS["joint_b"]]

    customer_ids: dict[str, int] = {}
    for person in PEOPLE:
        if person.customer:
            customer_ids[person.personal_number] = demo.add(
                "billing",
                "customers",
                [person.personal_number],
                personal_number=person.personal_number,
                name=person.name,
                street=person.street,
                postal_code=person.postal_code,
                city=person.city,
                email=person.email,
                phone=person.phone,
                protected_identity=person.protected,
            )

    network_ids: dict[str, int] = {}

    def network_customer(person: Person, since: date) -> int:
        if person.personal_number not in network_ids:
            network_ids[person.personal_number] = demo.add(
                "network",
                "network_customers",
                [person.personal_number],
                personal_number=person.personal_number,
                name=person.name,
                street=person.street,
                postal_code=person.postal_code,
                city=person.city,
                customer_since=since,
            )
        row = demo.rows["network"]["network_customers"][network_ids[person.personal_number] - 1]
        # A customer since their first connection, whichever contract created the record.
        row["customer_since"] = min(row["customer_since"], since)
        return network_ids[person.personal_number]

    def contract(
        holders: list[Person], kind: str, start: date, end: date | None, payer: Person
    ) -> int:
        owners = [holder.personal_number for holder in holders]
        prefix = "EL" if kind == "electricity" else "FI"
        site = holders[0]
        contract_id = demo.add(
            "billing",
            "contracts",
            owners,
            contract_number=f"{prefix}-{100200 + len(demo.rows['billing']['contracts'])}",
            kind=kind,
            start_date=start,
            end_date=end,
            facility_street=site.street,
            facility_postal_code=site.postal_code,
            facility_city=site.city,
        )
        for holder in holders:
            demo.add(
                "billing",
                "contract_holders",
                [holder.personal_number],
                contract_id=contract_id,
                customer_id=customer_ids[holder.personal_number],
            )
        _invoices(
            demo, rng, payer, customer_ids[payer.personal_number], contract_id, kind, start, end
        )
        return contract_id

    def electricity(holders: list[Person], series: str, end: date | None) -> None:
        owner = holders[0]
        start = date(REFERENCE_DAY.year - reading_years - rng.randint(1, 8), rng.randint(1, 12), 1)
        contract(holders, "electricity", start, end, payer=owner)
        point_id = demo.add(
            "network",
            "metering_points",
            [owner.personal_number],
            network_customer_id=network_customer(owner, start),
            gsrn="",
            street=owner.street,
            postal_code=owner.postal_code,
            city=owner.city,
            grid_area="VST" if owner.city == "Västerås" else "UPP",
            fuse_amperes=rng.choice((16, 20, 25)),
            installed_at=start,
            supply_ended_on=end,
            electricity_supplier=_SUPPLIERS[len(demo.rows["network"]["metering_points"]) % 2],
        )
        demo.rows["network"]["metering_points"][-1]["gsrn"] = _gsrn(point_id)
        series_end = datetime.combine(
            min(REFERENCE_DAY, (end or REFERENCE_DAY) + timedelta(days=1)), datetime.min.time()
        )
        if series == "long":
            series_start = series_end.replace(year=series_end.year - reading_years)
        else:
            series_start = series_end - timedelta(days=_SHORT_SERIES_DAYS)
        hours = int((series_end - series_start) / timedelta(hours=1))
        demo.add_series(point_id, owner.personal_number, series_start, hours)

    def fibre(person: Person) -> None:
        start = date(rng.randint(2016, 2023), rng.randint(1, 12), 1)
        contract([person], "fibre", start, None, payer=person)
        node_prefix = "VÅS" if person.city == "Västerås" else "UPS"
        connection_id = demo.add(
            "network",
            "fibre_connections",
            [person.personal_number],
            network_customer_id=network_customer(person, start),
            street=person.street,
            postal_code=person.postal_code,
            city=person.city,
            access_node=f"{node_prefix}-AN-{rng.randint(1, 60):03d}",
            connected_at=start,
            disconnected_on=None,
        )
        for index in range(1 + (rng.random() < 0.5)):
            demo.add(
                "network",
                "fibre_service_subscriptions",
                [person.personal_number],
                connection_id=connection_id,
                service_provider=_PROVIDERS[0] if index == 0 else rng.choice(_PROVIDERS[1:]),
                service=_SERVICES[0] if index == 0 else rng.choice(_SERVICES[1:]),
                started_at=start + timedelta(days=rng.randint(0, 60)),
                ended_at=None,
            )

    for person in PEOPLE:
        if person.electricity is not None:
            # joint_b co-holds joint_a's electricity contract; the grid contract and the
            # readings are in joint_a's name. joint_a also has a fibre contract of her own.
            holders = [joint_a, joint_b] if person is joint_a else [person]
            electricity(holders, person.electricity, person.electricity_ended)
        if person.fibre:
            fibre(person)
        if person.credit_risk_class is not None:
            demo.add(
                "billing",
                "credit_checks",
                [person.personal_number],
                customer_id=customer_ids[person.personal_number],
                checked_at=datetime(
                    2024, rng.randint(1, 12), rng.randint(1, 28), 10, rng.randint(0, 59)
                ),
                agency=_CREDIT_AGENCY,
                risk_class=person.credit_risk_class,
                decision="approved" if person.credit_risk_class <= 3 else "deposit_required",
            )
        if person.outage_channel is not None:
            demo.add(
                "network",
                "outage_contacts",
                [person.personal_number],
                network_customer_id=network_customer(person, date(2023, 5, 1)),
                channel=person.outage_channel,
                phone=person.phone if person.outage_channel in ("sms", "phone") else None,
                email=person.email if person.outage_channel == "email" else None,
                registered_at=date(2023, 5, 1) + timedelta(days=rng.randint(0, 500)),
            )

    _marketing(demo, people)
    _disclosures(demo)
    return demo


def _invoices(
    demo: _Demo,
    rng: random.Random,
    payer: Person,
    customer_id: int,
    contract_id: int,
    kind: str,
    start: date,
    end: date | None,
) -> None:
    """Monthly invoices for the last twelve months of the contract, paid unless still open."""
    month = date(REFERENCE_DAY.year - 1, REFERENCE_DAY.month, 1)
    while month < REFERENCE_DAY:
        next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if month >= start.replace(day=1) and (end is None or month <= end):
            cents = rng.randint(30_000, 250_000) if kind == "electricity" else 39_900
            amount = Decimal(cents).scaleb(-2)
            due = next_month + timedelta(days=30)
            invoice_id = demo.add(
                "billing",
                "invoices",
                [payer.personal_number],
                invoice_number=f"F{700000 + len(demo.rows['billing']['invoices'])}",
                customer_id=customer_id,
                contract_id=contract_id,
                period_start=month,
                period_end=next_month - timedelta(days=1),
                invoice_date=next_month,
                due_date=due,
                amount=amount,
            )
            if due < REFERENCE_DAY:
                demo.add(
                    "billing",
                    "payments",
                    [payer.personal_number],
                    invoice_id=invoice_id,
                    paid_at=due - timedelta(days=rng.randint(0, 20)),
                    amount=amount,
                    method=rng.choice(("autogiro", "bankgiro", "e-faktura")),
                )
        month = next_month


def _marketing(demo: _Demo, people: dict[str, Person]) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    only = DEMO_SUBJECTS["marketing_only"]
    nystrom, bjork, hedlund = (
        FILLER_SUBJECTS["nystrom"],
        FILLER_SUBJECTS["bjork"],
        FILLER_SUBJECTS["hedlund"],
    )
    fibre_offers = "Nyheter och erbjudanden om fiber och bredband"
    energy_tips = "Tips om energismart elanvändning"
    contacts: dict[str | None, int] = {}
    for pn, created in (
        (tolvan, date(2023, 2, 14)),
        (only, date(2025, 8, 30)),
        (nystrom, date(2022, 9, 1)),
        (bjork, date(2024, 1, 9)),
        (hedlund, date(2024, 6, 17)),
    ):
        person = people[pn]
        contacts[pn] = demo.add(
            "marketing",
            "contacts",
            [pn],
            personal_number=pn,
            name=person.name,
            email=person.email,
            phone=person.phone,
            created_at=created,
        )
    # A newsletter sign-up by e-mail alone: it belongs to nobody the engine can identify.
    contacts[None] = demo.add(
        "marketing",
        "contacts",
        [],
        personal_number=None,
        name=None,
        email="nyfiken@example.se",
        phone=None,
        created_at=date(2025, 3, 3),
    )
    for holder, channel, purpose, given, withdrawn in (
        (tolvan, "email", fibre_offers, datetime(2023, 2, 14, 9, 12), None),
        (tolvan, "sms", energy_tips, datetime(2023, 2, 14, 9, 13), datetime(2025, 6, 1, 18, 40)),
        (only, "email", fibre_offers, datetime(2025, 8, 30, 21, 5), None),
        (nystrom, "email", energy_tips, datetime(2022, 9, 1, 12, 0), datetime(2024, 2, 2, 8, 30)),
        (bjork, "email", fibre_offers, datetime(2024, 1, 9, 16, 45), None),
        (hedlund, "sms", energy_tips, datetime(2024, 6, 17, 7, 55), None),
        (None, "email", fibre_offers, datetime(2025, 3, 3, 11, 11), None),
    ):
        demo.add(
            "marketing",
            "consents",
            [holder] if holder else [],
            contact_id=contacts[holder],
            channel=channel,
            purpose=purpose,
            given_at=given,
            withdrawn_at=withdrawn,
        )
    for name, channel, sent_at, recipients in (
        ("Höstkampanj fiber 2025", "email", datetime(2025, 9, 15, 8, 0), [tolvan, bjork, None]),
        ("Energitips inför vintern", "sms", datetime(2025, 11, 20, 17, 0), [hedlund]),
        ("Nyhetsbrev mars 2026", "email", datetime(2026, 3, 5, 8, 0), [tolvan, only, bjork]),
        ("Vårerbjudande 2026", "email", datetime(2026, 4, 20, 8, 0), [None]),
    ):
        owners = [recipient for recipient in recipients if recipient is not None]
        campaign_id = demo.add(
            "marketing", "campaigns", owners, name=name, channel=channel, sent_at=sent_at
        )
        for recipient in recipients:
            demo.add(
                "marketing",
                "campaign_recipients",
                [recipient] if recipient else [],
                campaign_id=campaign_id,
                contact_id=contacts[recipient],
            )
    for sharer, provider, shared_at in (
        (tolvan, _PROVIDERS[0], datetime(2024, 4, 2, 13, 30)),
        (bjork, _PROVIDERS[1], datetime(2024, 2, 1, 9, 0)),
    ):
        demo.add(
            "marketing",
            "shared_with_providers",
            [sharer],
            contact_id=contacts[sharer],
            service_provider=provider,
            shared_at=shared_at,
            data_categories="identifier,contact,address",
        )


def _disclosures(demo: _Demo) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    releases = (
        (
            tolvan,
            "Polismyndigheten",
            "authority",
            date(2025, 3, 18),
            "Begäran om uppgifter i förundersökning om misstänkt elstöld",
            "Rättslig förpliktelse, art. 6.1 c (10 kap. 24 § OSL)",
            "identifier,address,metering",
        ),
        (
            tolvan,
            "Länsförsäkringar",
            "insurer",
            date(2025, 8, 4),
            "Underlag för skadereglering efter överspänning i elnätet",
            "Berättigat intresse, art. 6.1 f",
            "identifier,address,connection",
        ),
        (
            tolvan,
            "Elnätsentreprenad AB",
            "contractor",
            date(2026, 2, 11),
            "Byte av elmätare (personuppgiftsbiträde)",
            "Avtal, art. 6.1 b",
            "identifier,contact,address,connection",
        ),
        (
            FILLER_SUBJECTS["holm"],
            "Skatteverket",
            "authority",
            date(2025, 5, 27),
            "Föreläggande om kontrolluppgifter",
            "Rättslig förpliktelse, art. 6.1 c",
            "identifier,billing",
        ),
        (
            FILLER_SUBJECTS["akesson"],
            "Länsförsäkringar",
            "insurer",
            date(2026, 1, 20),
            "Underlag för skadereglering efter vattenskada",
            "Berättigat intresse, art. 6.1 f",
            "identifier,address,metering",
        ),
        (
            DEMO_SUBJECTS["joint_a"],
            "Elnätsentreprenad AB",
            "contractor",
            date(2025, 10, 6),
            "Flytt av servisledning (personuppgiftsbiträde)",
            "Avtal, art. 6.1 b",
            "identifier,contact,address",
        ),
    )
    for pn, recipient, kind, when, purpose, basis, categories in releases:
        demo.add(
            "disclosure",
            "disclosures",
            [pn],
            personal_number=pn,
            recipient=recipient,
            recipient_type=kind,
            disclosed_at=when,
            purpose=purpose,
            legal_basis=basis,
            data_categories=categories,
        )


def _hourly_readings(series: _Series) -> Iterator[_Row]:
    """Plausible household consumption: a daily rhythm, more in winter, some noise."""
    rng = random.Random(_SEED * 1000 + series.metering_point_id)
    base = rng.uniform(0.2, 0.6)
    hour = timedelta(hours=1)
    for offset in range(series.hours):
        read_at = series.start + offset * hour
        daily = 1.8 if read_at.hour in (6, 7, 8, 17, 18, 19, 20) else 1.0
        season = 1.7 if read_at.month in (11, 12, 1, 2, 3) else 1.0
        yield {
            "reading_id": series.first_reading_id + offset,
            "metering_point_id": series.metering_point_id,
            "read_at": read_at,
            "kwh": round(base * daily * season + rng.random() * 0.4, 3),
        }


def _gsrn(metering_point_id: int) -> str:
    """An 18-digit anläggnings-id (GSRN, prefix 735999) with a valid GS1 check digit."""
    body = f"735999{100_000_000_00 + metering_point_id * 7919:011d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return f"{body}{(10 - total % 10) % 10}"
