"""Erasure: the plan per table under the document plan's disposal rules, and executing it row
by row."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml

from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from demo.systems import REFERENCE_DAY, select_campaign_audience
from systems.catalog import Catalog, SystemDecl
from systems.connector import collect_subject
from systems.erasure import ErasurePlanItem, erase_rows, erasure_order, plan_erasure
from systems.writes import suppress_marketing

from .conftest import WritableSystems

TOLVAN = DEMO_SUBJECTS["tolvan"]
AKESSON = FILLER_SUBJECTS["akesson"]  # electricity contract ended 2025-12-31
SYSTEMS_DIR = Path(__file__).resolve().parents[2] / "systems"


def _day(value: object) -> date:
    assert isinstance(value, date)
    return value.date() if isinstance(value, datetime) else value


def _end_of_seventh_year(day: date) -> date:
    return date(day.year + 7, 12, 31)


async def _plans(
    writable_systems: WritableSystems, catalog: Catalog, subject_id: str, today: date
) -> dict[str, list[ErasurePlanItem]]:
    return {
        name: await plan_erasure(
            writable_systems.engines[name], system, subject_id, today, plan=catalog.plan
        )
        for name, system in catalog.systems.items()
    }


def _items(plan: Iterable[ErasurePlanItem], table: str) -> list[ErasurePlanItem]:
    return [item for item in plan if item.table == table]


def _keep_dates(plan: Iterable[ErasurePlanItem], table: str) -> dict[int, date | None]:
    return {
        key: item.keep_until
        for item in _items(plan, table)
        if item.action == "keep"
        for key in item.keys
    }


async def _execute(
    writable_systems: WritableSystems, catalog: Catalog, plans: dict[str, list[ErasurePlanItem]]
) -> dict[str, int]:
    done: dict[str, int] = {}
    for name, plan in plans.items():
        for item in plan:
            if item.action != "keep":
                changed = await erase_rows(
                    writable_systems.engines[name],
                    catalog.systems[name],
                    item.table,
                    item.keys,
                    item.action,
                )
                assert changed == len(item.keys), f"{name}.{item.table}"
                done[f"{name}.{item.table}"] = done.get(f"{name}.{item.table}", 0) + changed
    return done


async def test_every_row_of_the_subject_is_planned_exactly_once(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    for subject_id in (TOLVAN, DEMO_SUBJECTS["joint_a"], AKESSON, DEMO_SUBJECTS["unknown"]):
        for name, plan in (
            await _plans(writable_systems, catalog, subject_id, REFERENCE_DAY)
        ).items():
            system = catalog.systems[name]
            owned = writable_systems.manifest.rows_of(subject_id, name)
            assert list(dict.fromkeys(i.table for i in plan)) == [
                t for t in erasure_order(system) if owned[t]
            ]
            for table, keys in owned.items():
                planned = [key for item in _items(plan, table) for key in item.keys]
                assert sorted(planned) == sorted(keys), f"{name}.{table}"
            for item in plan:
                assert item.system == name and item.keys
                assert item.label == system.tables[item.table].label
                erasure = system.tables[item.table].erasure
                assert item.then == (erasure.action if erasure else "keep")
                assert item.action in ("keep", item.then)
                assert item.disposal == (erasure.disposal if erasure else None)
                assert item.reason and subject_id not in item.reason


async def test_tolvans_plan_follows_the_disposal_rules(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    plans = await _plans(writable_systems, catalog, TOLVAN, REFERENCE_DAY)
    owned = {name: writable_systems.manifest.rows_of(TOLVAN, name) for name in catalog.systems}
    billing, network = plans["billing"], plans["network"]

    # Both contracts run: the contracts and what hangs on them are kept, without a date.
    for table in ("customers", "contracts", "contract_holders"):
        (item,) = _items(billing, table)
        assert item.action == "keep" and item.keep_until is None
        assert "avtal" in item.reason and "6.1 b" in item.reason
    assert _items(billing, "customers")[0].then == "anonymise"
    for table in ("network_customers", "metering_points", "fibre_connections"):
        (item,) = _items(network, table)
        assert item.action == "keep" and item.keep_until is None

    # Accounting: to the end of the seventh year; an invoice stays as long as its payment.
    invoices, payments = (
        writable_systems.rows("billing", "invoices"),
        writable_systems.rows("billing", "payments"),
    )
    paid = {p["invoice_id"]: _day(p["paid_at"]) for p in payments.values()}
    assert _keep_dates(billing, "payments") == {
        key: _end_of_seventh_year(_day(payments[key]["paid_at"]))
        for key in owned["billing"]["payments"]
    }
    assert _keep_dates(billing, "invoices") == {
        key: _end_of_seventh_year(max(_day(invoices[key]["invoice_date"]), paid.get(key, date.min)))
        for key in owned["billing"]["invoices"]
    }
    assert set(_keep_dates(billing, "invoices").values()) == {
        date(2032, 12, 31),
        date(2033, 12, 31),
    }
    assert all("bokföringslagen" in item.reason for item in _items(billing, "invoices"))

    # Meter values bill the grid fee: accounting records (EIFS 2016:2 refers to Bokföringslagen),
    # kept to the end of the seventh year after their financial year, not six years.
    readings = writable_systems.rows("network", "meter_readings")
    kept = _keep_dates(network, "meter_readings")
    assert kept.keys() == owned["network"]["meter_readings"]
    for key, until in kept.items():
        assert until == _end_of_seventh_year(_day(readings[key]["read_at"]))
    assert min(d for d in kept.values() if d) == date(2032, 12, 31)
    for item in _items(network, "meter_readings"):
        assert "EIFS 2016:2" in item.reason and "bokföringslagen 7 kap. 2 §" in item.reason
        assert item.disposal == "DHP 5.2" and "DHP 5.2" in item.reason

    # Credit checks go now, under the disposal decision that lets them go; the outage contact
    # too; the disclosure log is an official document no decision covers: kept for good.
    (credit,) = _items(billing, "credit_checks")
    assert credit.action == "delete" and set(credit.keys) == owned["billing"]["credit_checks"]
    assert "gallringsbeslut DHP 4.4" in credit.reason
    (outage,) = _items(network, "outage_contacts")
    assert outage.action == "delete"
    (log,) = plans["disclosure"]
    assert log.action == "keep" and log.keep_until is None and "arkivlagen" in log.reason
    assert (log.then, log.disposal, log.rule) == ("keep", None, "archive")
    assert len(log.keys) == 3

    # Marketing goes, except the campaigns other people also received.
    marketing = plans["marketing"]
    assert {i.table for i in marketing if i.action == "delete"} == {
        "contacts",
        "consents",
        "campaign_recipients",
        "shared_with_providers",
    }
    (campaigns,) = _items(marketing, "campaigns")
    assert campaigns.action == "keep" and "någon annan" in campaigns.reason


async def test_executing_tolvans_plan_erases_exactly_the_planned_rows(
    writable_systems: WritableSystems, catalog: Catalog, tmp_path: Path
) -> None:
    plans = await _plans(writable_systems, catalog, TOLVAN, REFERENCE_DAY)
    tables = [(n, t) for n, s in catalog.systems.items() for t in s.tables if t != "meter_readings"]
    before = {(n, t): writable_systems.rows(n, t) for n, t in tables}

    done = await _execute(writable_systems, catalog, plans)

    assert done == {
        "billing.credit_checks": 1,
        "network.outage_contacts": 1,
        "marketing.consents": 2,
        "marketing.campaign_recipients": 2,
        "marketing.shared_with_providers": 1,
        "marketing.contacts": 1,
    }
    erased = {
        (name, item.table, key)
        for name, plan in plans.items()
        for item in plan
        if item.action != "keep"
        for key in item.keys
    }
    for name, table in tables:
        now = writable_systems.rows(name, table)
        assert {(name, table, k) for k in before[(name, table)].keys() - now.keys()} == {
            e for e in erased if e[:2] == (name, table)
        }
        assert all(now[k] == before[(name, table)][k] for k in now), f"{name}.{table} changed"
    # Running it again changes nothing more.
    for name, plan in plans.items():
        for item in plan:
            if item.action != "keep":
                system = catalog.systems[name]
                engine = writable_systems.engines[name]
                assert await erase_rows(engine, system, item.table, item.keys, item.action) == 0
    summary = await collect_subject(
        writable_systems.engines["marketing"],
        catalog.systems["marketing"],
        TOLVAN,
        tmp_path / "m.json",
    )
    assert not summary.found


async def test_rows_go_the_day_after_their_retention_ends_and_customers_are_anonymised(
    writable_systems: WritableSystems, catalog: Catalog, tmp_path: Path
) -> None:
    billing, engine = catalog.systems["billing"], writable_systems.engines["billing"]
    (customer,) = writable_systems.manifest.rows_of(AKESSON, "billing")["customers"]

    last_day = await plan_erasure(engine, billing, AKESSON, date(2033, 12, 31), plan=catalog.plan)
    assert {i.keep_until for i in last_day if i.table == "customers"} == {date(2033, 12, 31)}
    # The contract ended 2025-12-31; its last invoice is dated 2026-01-01 and keeps it.
    assert _keep_dates(last_day, "contracts") == {
        next(iter(writable_systems.manifest.rows_of(AKESSON, "billing")["contracts"])): date(
            2033, 12, 31
        )
    }

    # Years after the readings' last financial year ended, they go too (DHP 5.2).
    plans = await _plans(writable_systems, catalog, AKESSON, date(2034, 1, 1))
    assert all(i.action != "keep" for n, p in plans.items() if n != "disclosure" for i in p)
    done = await _execute(writable_systems, catalog, plans)
    assert done["billing.customers"] == 1 and done["network.meter_readings"] == 30 * 24

    row = writable_systems.rows("billing", "customers")[customer]
    assert row["customer_id"] == customer
    assert row["personal_number"] == "ANONYMISERAD" and row["name"] == "Anonymiserad kund"
    assert [row[c] for c in ("street", "postal_code", "city", "email", "phone")] == [None] * 5
    for name in ("billing", "network"):
        summary = await collect_subject(
            writable_systems.engines[name],
            catalog.systems[name],
            AKESSON,
            tmp_path / f"{name}.json",
        )
        assert not summary.found, name
    assert await erase_rows(engine, billing, "customers", [customer], "anonymise") == 0


async def test_erasing_one_joint_holder_leaves_the_other_intact(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    joint_a, joint_b = DEMO_SUBJECTS["joint_a"], DEMO_SUBJECTS["joint_b"]
    owned_b = {name: writable_systems.manifest.rows_of(joint_b, name) for name in catalog.systems}
    (shared,) = (
        writable_systems.manifest.rows_of(joint_a, "billing")["contracts"]
        & owned_b["billing"]["contracts"]
    )

    # Today: joint_b's rows appear in joint_a's plan only as a kept, shared contract.
    for name, plan in (await _plans(writable_systems, catalog, joint_a, REFERENCE_DAY)).items():
        for item in plan:
            overlap = set(item.keys) & owned_b[name][item.table]
            if overlap:
                assert (name, item.table, overlap) == ("billing", "contracts", {shared})
                assert item.action == "keep" and "någon annan" in item.reason

    # Years after every contract ended, joint_a's erasure still leaves joint_b's data alone.
    writable_systems.execute("billing", "UPDATE contracts SET end_date = '2020-06-30'")
    writable_systems.execute("network", "UPDATE metering_points SET supply_ended_on = '2020-06-30'")
    writable_systems.execute(
        "network", "UPDATE fibre_connections SET disconnected_on = '2020-06-30'"
    )
    writable_systems.execute(
        "network", "UPDATE fibre_service_subscriptions SET ended_at = '2020-06-30'"
    )
    tables = [(n, t) for n, s in catalog.systems.items() for t in s.tables if t != "meter_readings"]
    before = {(n, t): writable_systems.rows(n, t) for n, t in tables}

    plans = await _plans(writable_systems, catalog, joint_a, date(2100, 1, 1))
    kept = {
        (n, i.table, k) for n, p in plans.items() for i in p if i.action == "keep" for k in i.keys
    }
    assert {(n, t) for n, t, _ in kept} == {("billing", "contracts"), ("disclosure", "disclosures")}
    assert ("billing", "contracts", shared) in kept
    await _execute(writable_systems, catalog, plans)

    for name, table in tables:
        now = writable_systems.rows(name, table)
        for key in owned_b[name][table]:
            assert now.get(key) == before[(name, table)][key], f"{name}.{table}:{key}"
    holders = writable_systems.rows("billing", "contract_holders")
    assert {
        h["contract_id"]
        for h in holders.values()
        if h["holder_id"] in owned_b["billing"]["contract_holders"]
    } == {shared}
    assert (
        not writable_systems.manifest.rows_of(joint_a, "billing")["contract_holders"]
        & holders.keys()
    )
    (customer_a,) = writable_systems.manifest.rows_of(joint_a, "billing")["customers"]
    assert (
        writable_systems.rows("billing", "customers")[customer_a]["personal_number"]
        == "ANONYMISERAD"
    )


def test_erasure_order_puts_referring_tables_first(catalog: Catalog) -> None:
    for system in catalog.systems.values():
        order = erasure_order(system)
        assert sorted(order) == sorted(system.tables)
        for reference in system.row_references():
            assert order.index(reference.table) < order.index(reference.target), reference
    billing = erasure_order(catalog.systems["billing"])
    assert billing.index("payments") < billing.index("invoices") < billing.index("contracts")
    assert billing[-1] == "customers"


async def test_erase_rows_refuses_another_action_than_declared(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    billing = catalog.systems["billing"]
    engine = writable_systems.engines["billing"]
    try:
        await erase_rows(engine, billing, "customers", [1], "delete")
    except ValueError as error:
        assert "declared to anonymise" in str(error)
    else:
        raise AssertionError("deleting a customer row must be refused")
    assert 1 in writable_systems.rows("billing", "customers")


# --- An objection outlives the erasure (Art. 21(3)) ------------------------------------------

MARKETING_ONLY = DEMO_SUBJECTS["marketing_only"]
OBJECTED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
CHILDREN = ("consents", "campaign_recipients", "shared_with_providers")


def _marketing_rows(writable_systems: WritableSystems) -> dict[str, dict[int, dict[str, object]]]:
    return {
        table: writable_systems.rows("marketing", table)
        for table in ("contacts", "campaigns", *CHILDREN)
    }


def _foreign_key_violations(writable_systems: WritableSystems) -> list[tuple[object, ...]]:
    """Rows referring to rows that are gone. PostgreSQL refuses such a change itself (as
    SQLite does with foreign keys on); SQLite can also be asked to list them."""
    url = writable_systems.urls["marketing"]
    if not url.startswith("sqlite"):
        return []
    database = sa.make_url(url).database
    assert database is not None
    with closing(sqlite3.connect(database)) as conn:
        return list(conn.execute("PRAGMA foreign_key_check").fetchall())


async def test_an_objection_outlives_erasure_as_a_suppression_record(
    writable_systems: WritableSystems, catalog: Catalog, tmp_path: Path
) -> None:
    marketing, engine = catalog.systems["marketing"], writable_systems.engines["marketing"]
    owned = writable_systems.manifest.rows_of(TOLVAN, "marketing")
    (contact,) = owned["contacts"]
    audience_before = await select_campaign_audience(engine)
    assert str(contact) in audience_before
    await suppress_marketing(engine, marketing, TOLVAN, now=OBJECTED)
    before = _marketing_rows(writable_systems)

    plan = await plan_erasure(engine, marketing, TOLVAN, REFERENCE_DAY, plan=catalog.plan)

    (suppressed,) = _items(plan, "contacts")
    assert (suppressed.action, suppressed.then, suppressed.keys) == (
        "suppress",
        "suppress",
        (contact,),
    )
    assert suppressed.keep_until is None
    assert "art. 21.3" in suppressed.reason and "spärr mot marknadsföring" in suppressed.reason
    assert "Person- eller samordningsnummer" in suppressed.reason
    assert "E-postadress" not in suppressed.reason and TOLVAN not in suppressed.reason
    for table in CHILDREN:
        (item,) = _items(plan, table)
        assert item.action == "delete" and set(item.keys) == owned[table], table
    # Executed as the plan says, the way the erasure activity does: children before the contact.
    assert await _execute(writable_systems, catalog, {"marketing": plan}) == {
        "marketing.consents": 2,
        "marketing.campaign_recipients": 2,
        "marketing.shared_with_providers": 1,
        "marketing.contacts": 1,
    }

    after = _marketing_rows(writable_systems)
    assert after["contacts"][contact] == {
        **before["contacts"][contact],
        "name": None,
        "email": None,
        "phone": None,
    }
    assert after["contacts"][contact]["personal_number"] == TOLVAN
    assert after["contacts"][contact]["marketing_objection"] == 1
    for table in CHILDREN:
        assert not owned[table] & after[table].keys(), table
        assert contact not in {row["contact_id"] for row in after[table].values()}, table
    for table, rows in before.items():
        others = rows.keys() - owned[table]
        assert {k: after[table][k] for k in others} == {k: rows[k] for k in others}, table
    assert _foreign_key_violations(writable_systems) == []
    audience = await select_campaign_audience(engine)
    assert audience == [c for c in audience_before if c != str(contact)]
    # Re-imported later as a new contact with a fresh consent: the suppression record's
    # identity number still keeps the subject out.
    writable_systems.execute(
        "marketing",
        "INSERT INTO contacts (contact_id, personal_number, name, email, created_at, "
        "processing_restricted, marketing_objection) VALUES (9001, :subject, "
        "'Tolvan Tolvansson', 'tolvan@example.se', '2026-11-01 10:00:00.000000', false, false)",
        subject=TOLVAN,
    )
    writable_systems.execute(
        "marketing",
        "INSERT INTO consents (consent_id, contact_id, channel, purpose, given_at) "
        "VALUES (9001, 9001, 'email', 'Nyheter', '2026-11-01 10:00:00.000000')",
    )
    assert await select_campaign_audience(engine) == audience
    writable_systems.execute("marketing", "DELETE FROM consents WHERE consent_id = 9001")
    writable_systems.execute("marketing", "DELETE FROM contacts WHERE contact_id = 9001")

    # Running it again changes nothing more; planned again, the record is all there is.
    for item in plan:
        if item.action != "keep":
            assert await erase_rows(engine, marketing, item.table, item.keys, item.then) == 0
    assert _marketing_rows(writable_systems) == after
    again = await plan_erasure(engine, marketing, TOLVAN, REFERENCE_DAY, plan=catalog.plan)
    assert [(i.table, i.action, i.keys) for i in again] == [("contacts", "suppress", (contact,))]
    summary = await collect_subject(engine, marketing, TOLVAN, tmp_path / "m.json")
    assert summary.tables["contacts"] == 1 and sum(summary.tables.values()) == 1


async def test_without_an_objection_the_contact_is_deleted(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    marketing, engine = catalog.systems["marketing"], writable_systems.engines["marketing"]
    (contact,) = writable_systems.manifest.rows_of(MARKETING_ONLY, "marketing")["contacts"]

    plan = await plan_erasure(engine, marketing, MARKETING_ONLY, REFERENCE_DAY, plan=catalog.plan)
    (item,) = _items(plan, "contacts")
    assert (item.action, item.then) == ("delete", "delete")
    assert "21.3" not in item.reason
    await _execute(writable_systems, catalog, {"marketing": plan})

    assert contact not in writable_systems.rows("marketing", "contacts")
    assert _foreign_key_violations(writable_systems) == []


async def test_an_objection_made_after_the_plan_still_outlives_the_erasure(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    marketing, engine = catalog.systems["marketing"], writable_systems.engines["marketing"]
    (contact,) = writable_systems.manifest.rows_of(MARKETING_ONLY, "marketing")["contacts"]
    plan = await plan_erasure(engine, marketing, MARKETING_ONLY, REFERENCE_DAY, plan=catalog.plan)
    assert _items(plan, "contacts")[0].then == "delete"

    # The subject objects while the plan waits for approval: the approved delete minimises.
    await suppress_marketing(engine, marketing, MARKETING_ONLY, now=OBJECTED)
    await _execute(writable_systems, catalog, {"marketing": plan})

    row = writable_systems.rows("marketing", "contacts")[contact]
    assert row["personal_number"] == MARKETING_ONLY and row["marketing_objection"] == 1
    assert [row[c] for c in ("name", "email", "phone")] == [None] * 3
    assert await erase_rows(engine, marketing, "contacts", [contact], "delete") == 0
    assert _foreign_key_violations(writable_systems) == []


async def test_a_disposal_rule_still_wins_over_the_suppression_record(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    # A variant where consents go under a rule of six years from when they were given (say, as
    # proof): the contact they hang on must stay whole as long, and only then becomes the record.
    data = yaml.safe_load((SYSTEMS_DIR / "marketing.yaml").read_text(encoding="utf-8"))
    data["tables"]["consents"]["erasure"].update(disposal="DHP 5.3", dates={"years": "given_at"})
    marketing, engine = SystemDecl.model_validate(data), writable_systems.engines["marketing"]
    (contact,) = writable_systems.manifest.rows_of(TOLVAN, "marketing")["contacts"]
    await suppress_marketing(engine, marketing, TOLVAN, now=OBJECTED)

    (kept,) = _items(
        await plan_erasure(engine, marketing, TOLVAN, REFERENCE_DAY, plan=catalog.plan), "contacts"
    )
    assert (kept.action, kept.then, kept.keep_until) == ("keep", "suppress", date(2029, 2, 14))
    later = await plan_erasure(engine, marketing, TOLVAN, date(2029, 2, 15), plan=catalog.plan)
    assert [(i.table, i.action) for i in later if i.table in ("contacts", "consents")] == [
        ("consents", "delete"),
        ("contacts", "suppress"),
    ]


async def test_erase_rows_accepts_suppress_only_where_a_record_is_declared(
    writable_systems: WritableSystems, catalog: Catalog
) -> None:
    marketing, engine = catalog.systems["marketing"], writable_systems.engines["marketing"]
    try:
        await erase_rows(engine, marketing, "consents", [1], "suppress")
    except ValueError as error:
        assert "declared to delete, not suppress" in str(error)
    else:
        raise AssertionError("suppressing a consent must be refused")
    try:
        await erase_rows(engine, marketing, "contacts", [1], "anonymise")
    except ValueError as error:
        assert "declared to delete or suppress, not anonymise" in str(error)
    else:
        raise AssertionError("anonymising a contact must be refused")
