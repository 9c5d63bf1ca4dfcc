"""Rectification, restriction, objection and recipients, against private copies of the demo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from demo.people import DEMO_SUBJECTS
from demo.schemas import SYSTEM_TABLES
from demo.systems import select_campaign_audience
from systems.catalog import Catalog, SystemDecl
from systems.recipients import Recipients, recipients_of_rows, subject_recipients
from systems.writes import (
    WriteSummary,
    fields_held,
    is_restricted,
    rectify_subject,
    set_restriction,
    suppress_marketing,
)

from .conftest import WritableSystems

TOLVAN = DEMO_SUBJECTS["tolvan"]
FLAGGED = ("billing", "marketing", "network")
Snapshot = dict[tuple[str, str], dict[int, dict[str, Any]]]


def _snapshot(writable_systems: WritableSystems) -> Snapshot:
    return {
        (system, table): writable_systems.rows(system, table)
        for system, metadata in SYSTEM_TABLES.items()
        for table in metadata.tables
        if table != "meter_readings"  # nothing to rectify there, and the largest by far
    }


def _differences(before: Snapshot, after: Snapshot) -> dict[tuple[str, str, int, str], Any]:
    """(system, table, key, column) -> new value, for every cell that changed."""
    assert {k: set(v) for k, v in before.items()} == {k: set(v) for k, v in after.items()}
    return {
        (system, table, key, column): value
        for (system, table), rows in after.items()
        for key, row in rows.items()
        for column, value in row.items()
        if before[(system, table)][key][column] != value
    }


def _contact_id(writable_systems: WritableSystems, subject_id: str) -> str:
    (contact,) = writable_systems.manifest.rows_of(subject_id, "marketing")["contacts"]
    return str(contact)


async def test_rectification_changes_exactly_the_subjects_cells_in_every_system(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    changes = {
        "email": " tolvan.ny@EXAMPLE.se ",
        "street": "Nygatan  5",
        "postal_code": "72213",
        "phone": "070-999 88 77",
    }
    normalised = {
        "email": "tolvan.ny@example.se",
        "street": "Nygatan 5",
        "postal_code": "722 13",
        "phone": "+46709998877",
    }
    before = _snapshot(writable_systems)
    summaries = {
        name: await rectify_subject(writable_systems.engines[name], system, TOLVAN, changes)
        for name, system in catalog.systems.items()
    }
    changed = _differences(before, _snapshot(writable_systems))

    expected: dict[tuple[str, str, int, str], Any] = {}
    for name, system in catalog.systems.items():
        owned = writable_systems.manifest.rows_of(TOLVAN, name)
        for table_name, table in system.tables.items():
            for column, decl in table.columns.items():
                if decl.field not in normalised:
                    continue
                for key in owned[table_name]:
                    if before[(name, table_name)][key][column] is not None:
                        expected[(name, table_name, key, column)] = normalised[decl.field]
    assert changed == expected
    assert {system for system, *_ in changed} == {"billing", "marketing", "network"}
    assert summaries["billing"] == WriteSummary("billing", {"customers": 1})
    assert summaries["marketing"] == WriteSummary("marketing", {"contacts": 1})
    # The SMS contact for outage notices had a phone number and no e-mail; it gets no e-mail.
    assert summaries["network"] == WriteSummary(
        "network", {"network_customers": 1, "outage_contacts": 1}
    )
    assert summaries["disclosure"] == WriteSummary("disclosure", {})

    held = await fields_held(
        writable_systems.engines["billing"], catalog.systems["billing"], TOLVAN
    )
    assert held["email"] == ["tolvan.ny@example.se"] and held["postal_code"] == ["722 13"]
    network = await fields_held(
        writable_systems.engines["network"], catalog.systems["network"], TOLVAN
    )
    assert "email" not in network and network["phone"] == ["+46709998877"]

    # Idempotent: the same request again changes nothing.
    for name, system in catalog.systems.items():
        again = await rectify_subject(writable_systems.engines[name], system, TOLVAN, changes)
        assert again == WriteSummary(name, {})
    assert not _differences(before, _snapshot(writable_systems)).keys() - expected.keys()


async def test_a_bad_value_changes_nothing_and_is_not_echoed(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    before = _snapshot(writable_systems)
    for changes in (
        {"email": "tolvan.ny@example.se", "postal_code": "7221"},
        {"email": "tolvan.ny@example.se", "shoe_size": "44"},
    ):
        with pytest.raises(ValueError) as caught:
            await rectify_subject(
                writable_systems.engines["billing"], catalog.systems["billing"], TOLVAN, changes
            )
        assert "7221" not in str(caught.value) and "tolvan" not in str(caught.value)
    assert _differences(before, _snapshot(writable_systems)) == {}


async def test_rectification_never_touches_a_row_shared_with_a_co_holder(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    """The shipped declarations only mark subject-owned tables; prove the guard anyway."""
    joint_a, joint_b = DEMO_SUBJECTS["joint_a"], DEMO_SUBJECTS["joint_b"]
    data = catalog.systems["billing"].model_dump()
    data["tables"]["contracts"]["columns"]["facility_street"]["field"] = "street"
    billing = SystemDecl.model_validate(data)
    (shared,) = (
        writable_systems.manifest.rows_of(joint_a, "billing")["contracts"]
        & writable_systems.manifest.rows_of(joint_b, "billing")["contracts"]
    )
    before = writable_systems.rows("billing", "contracts")

    summary = await rectify_subject(
        writable_systems.engines["billing"], billing, joint_a, {"street": "Nygatan 5"}
    )

    after = writable_systems.rows("billing", "contracts")
    assert summary.tables == {"customers": 1, "contracts": 1}
    assert after[shared] == before[shared]
    (own,) = writable_systems.manifest.rows_of(joint_a, "billing")["contracts"] - {shared}
    assert after[own]["facility_street"] == "Nygatan 5"
    customers = writable_systems.rows("billing", "customers")
    (customer_b,) = writable_systems.manifest.rows_of(joint_b, "billing")["customers"]
    assert customers[customer_b]["street"] == "Rönnbärsstigen 7"


async def test_restriction_is_set_in_every_system_and_lifted(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    others = [DEMO_SUBJECTS["joint_a"], DEMO_SUBJECTS["marketing_only"]]
    for name, system in catalog.systems.items():
        engine = writable_systems.engines[name]
        assert not await is_restricted(engine, system, TOLVAN)
        summary = await set_restriction(engine, system, TOLVAN, True)
        declared = system.restriction
        assert declared is not None, name
        subject_rows = len(writable_systems.manifest.rows_of(TOLVAN, name)[declared.table])
        assert summary == WriteSummary(name, {declared.table: subject_rows})
        assert await is_restricted(engine, system, TOLVAN)
        assert await set_restriction(engine, system, TOLVAN, True) == WriteSummary(name, {})
        for other in others:
            assert not await is_restricted(engine, system, other)
        unknown = await set_restriction(engine, system, DEMO_SUBJECTS["unknown"], True)
        assert unknown == WriteSummary(name, {})

    for name in FLAGGED:
        system, engine = catalog.systems[name], writable_systems.engines[name]
        assert await set_restriction(engine, system, TOLVAN, False) == WriteSummary(
            name, {system.restriction.table: 1} if system.restriction else {}
        )
        assert not await is_restricted(engine, system, TOLVAN)


async def test_a_restricted_subject_leaves_the_campaign_audience_until_lifted(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    marketing, engine = catalog.systems["marketing"], writable_systems.engines["marketing"]
    tolvan = _contact_id(writable_systems, TOLVAN)
    before = await select_campaign_audience(engine)
    assert tolvan in before

    await set_restriction(engine, marketing, TOLVAN, True)
    assert await select_campaign_audience(engine) == [c for c in before if c != tolvan]

    await set_restriction(engine, marketing, TOLVAN, False)
    assert await select_campaign_audience(engine) == before


async def test_an_objection_suppresses_marketing_and_withdraws_consents(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    marketing, engine = catalog.systems["marketing"], writable_systems.engines["marketing"]
    tolvan = _contact_id(writable_systems, TOLVAN)
    before = await select_campaign_audience(engine)
    consents_before = writable_systems.rows("marketing", "consents")
    mine = writable_systems.manifest.rows_of(TOLVAN, "marketing")["consents"]
    still_open = {key for key in mine if consents_before[key]["withdrawn_at"] is None}
    assert still_open and still_open != mine, "the demo has one open and one withdrawn consent"
    now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

    summary = await suppress_marketing(engine, marketing, TOLVAN, now=now)

    assert summary == WriteSummary("marketing", {"contacts": 1, "consents": len(still_open)})
    assert await select_campaign_audience(engine) == [c for c in before if c != tolvan]
    consents = writable_systems.rows("marketing", "consents")
    for key in mine:
        expected = datetime(2026, 11, 2, 9, 30) if key in still_open else None
        assert consents[key]["withdrawn_at"] == (expected or consents_before[key]["withdrawn_at"])
    for key in consents.keys() - mine:
        assert consents[key] == consents_before[key]
    assert writable_systems.rows("marketing", "contacts")[int(tolvan)]["marketing_objection"] == 1

    later = datetime(2026, 12, 1, tzinfo=UTC)
    assert await suppress_marketing(engine, marketing, TOLVAN, now=later) == WriteSummary(
        "marketing", {}
    )
    assert writable_systems.rows("marketing", "consents") == consents
    billing = await suppress_marketing(
        writable_systems.engines["billing"], catalog.systems["billing"], TOLVAN, now=now
    )
    assert billing == WriteSummary("billing", {})


async def test_recipients_of_the_subjects_data(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    async def received(name: str, subject_id: str = TOLVAN) -> Recipients:
        return await subject_recipients(
            writable_systems.engines[name], catalog.systems[name], subject_id
        )

    async def recipients(name: str, subject_id: str = TOLVAN) -> list[str]:
        return list((await received(name, subject_id)).named)

    # The disclosure log says what each recipient was given, row by row.
    assert (await received("disclosure")).named == {
        "Elnätsentreprenad AB": {"identifier", "contact", "address", "connection"},
        "Länsförsäkringar": {"identifier", "address", "connection"},
        "Polismyndigheten": {"identifier", "address", "metering"},
    }
    billing = await received("billing")
    # Declared per table, by name from the recipients register: the printer gets name and
    # address; recipients known only as a category are left for a handler, never dropped.
    assert billing.named["Exempeltryck AB"] == {"identifier", "address", "billing"}
    assert billing.categories == (
        "Inkassoföretag vid obetald faktura",
        "Banker och betaltjänstleverantörer",
    )
    # Only from the tables asked about (an erasure of some tables).
    payments = await subject_recipients(
        writable_systems.engines["billing"], catalog.systems["billing"], TOLVAN, tables={"payments"}
    )
    assert payments == Recipients(named={}, categories=("Banker och betaltjänstleverantörer",))
    # Who received given rows: the names on them, or the table's declared recipients.
    disclosures = writable_systems.manifest.rows_of(TOLVAN, "disclosure")["disclosures"]
    police = [
        key
        for key in disclosures
        if writable_systems.rows("disclosure", "disclosures")[key]["recipient"]
        == "Polismyndigheten"
    ]
    by_rows = await recipients_of_rows(
        writable_systems.engines["disclosure"], catalog.systems["disclosure"], "disclosures", police
    )
    assert list(by_rows.named) == ["Polismyndigheten"]
    invoices = writable_systems.manifest.rows_of(TOLVAN, "billing")["invoices"]
    of_invoices = await recipients_of_rows(
        writable_systems.engines["billing"], catalog.systems["billing"], "invoices", invoices
    )
    assert list(of_invoices.named) == ["Exempeltryck AB"]
    assert of_invoices.categories == ("Inkassoföretag vid obetald faktura",)
    none = await recipients_of_rows(
        writable_systems.engines["billing"], catalog.systems["billing"], "invoices", []
    )
    assert none == Recipients(named={})
    subscriptions = writable_systems.rows("network", "fibre_service_subscriptions")
    providers = {
        subscriptions[key]["service_provider"]
        for key in writable_systems.manifest.rows_of(TOLVAN, "network")[
            "fibre_service_subscriptions"
        ]
    }
    network = await recipients("network")
    assert providers and providers <= set(network)
    # "Din elhandlare" is resolved through the metering point: the supplier by name.
    points = writable_systems.rows("network", "metering_points")
    suppliers = {
        points[key]["electricity_supplier"]
        for key in writable_systems.manifest.rows_of(TOLVAN, "network")["metering_points"]
    }
    assert suppliers == {"Mälarenergi Elhandel AB"} and suppliers <= set(network)
    assert "Din elhandlare" not in network
    assert "Svenska kraftnät (datahubben)" in network
    readings = writable_systems.manifest.rows_of(TOLVAN, "network")["meter_readings"]
    of_readings = await recipients_of_rows(
        writable_systems.engines["network"],
        catalog.systems["network"],
        "meter_readings",
        list(readings)[:5],
    )
    assert set(of_readings.named) == {"Mälarenergi Elhandel AB", "Svenska kraftnät (datahubben)"}
    # A table naming its recipients per row gives the names, not its declared category.
    assert await recipients("marketing") == ["Nordnät Bredband AB"]
    for name in catalog.names():
        assert await recipients(name, DEMO_SUBJECTS["unknown"]) == []
        assert await recipients(name) == sorted(set(await recipients(name)))
