"""The generic connector against the seeded demo systems, checked against the seed manifest."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from systems import connector
from systems.catalog import Catalog, SystemDecl
from systems.connector import CollectSummary, SystemSchemaError, collect_subject

from .conftest import SeededSystems

EVERYONE = {**DEMO_SUBJECTS, **FILLER_SUBJECTS}


async def _collect(
    seeded_systems: SeededSystems, system: SystemDecl, subject_id: str, tmp_path: Path
) -> tuple[CollectSummary, dict[str, Any], str]:
    destination = tmp_path / "extracts" / f"{system.name}.json"
    summary = await collect_subject(
        seeded_systems.engines[system.name], system, subject_id, destination
    )
    text = destination.read_text(encoding="utf-8")
    return summary, json.loads(text), text


@pytest.mark.parametrize("role", sorted(EVERYONE))
async def test_extract_has_exactly_the_subjects_rows(
    role: str, seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    subject_id = EVERYONE[role]
    others = set(EVERYONE.values()) - {subject_id}
    for name in catalog.names():
        system = catalog.systems[name]
        summary, extract, text = await _collect(seeded_systems, system, subject_id, tmp_path)
        expected = seeded_systems.manifest.rows_of(subject_id, name)
        assert extract["system"] == name and extract["title"] == system.title
        assert list(extract["tables"]) == list(system.tables)
        for table_name, table in system.tables.items():
            rows = extract["tables"][table_name]["rows"]
            assert extract["tables"][table_name]["label"] == table.label
            keys = [row[table.primary_key] for row in rows]
            assert set(keys) == expected[table_name], f"{role}: {name}.{table_name}"
            assert len(keys) == len(set(keys)) == summary.tables[table_name]
            assert all(list(row) == list(table.columns) for row in rows)
        assert summary.system == name
        assert summary.found == any(expected.values())
        assert summary.protected_identity is (role == "protected" and name == "billing")
        assert not [other for other in others if other in text], f"{role}: {name}"


async def test_joint_holder_sees_the_shared_contract_but_not_the_co_holder(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    joint_a, joint_b = DEMO_SUBJECTS["joint_a"], DEMO_SUBJECTS["joint_b"]
    owned_a = seeded_systems.manifest.rows_of(joint_a, "billing")
    owned_b = seeded_systems.manifest.rows_of(joint_b, "billing")
    (shared,) = owned_a["contracts"] & owned_b["contracts"]
    _, extract, text = await _collect(seeded_systems, catalog.systems["billing"], joint_a, tmp_path)
    tables = extract["tables"]
    assert shared in {row["contract_id"] for row in tables["contracts"]["rows"]}
    assert {row["kind"] for row in tables["contracts"]["rows"]} == {"electricity", "fibre"}
    assert [row["personal_number"] for row in tables["customers"]["rows"]] == [joint_a]
    holders = {row["holder_id"] for row in tables["contract_holders"]["rows"]}
    assert not holders & owned_b["contract_holders"]
    assert (
        not {row["customer_id"] for row in tables["contract_holders"]["rows"]}
        & owned_b["customers"]
    )
    assert "Johan" not in text and joint_b not in text


async def test_unknown_subject_is_found_nowhere(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    for name in catalog.names():
        summary, extract, _ = await _collect(
            seeded_systems, catalog.systems[name], DEMO_SUBJECTS["unknown"], tmp_path
        )
        assert summary.found is False and summary.protected_identity is False
        assert all(not table["rows"] for table in extract["tables"].values())


async def test_protected_identity_is_reported(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    protected = DEMO_SUBJECTS["protected"]
    summary, extract, _ = await _collect(
        seeded_systems, catalog.systems["billing"], protected, tmp_path
    )
    assert summary.protected_identity is True
    assert extract["tables"]["customers"]["rows"][0]["protected_identity"] is True


async def test_values_are_written_as_json_friendly_strings(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    summary, extract, _ = await _collect(
        seeded_systems, catalog.systems["network"], tolvan, tmp_path
    )
    readings = extract["tables"]["meter_readings"]["rows"]
    assert summary.tables["meter_readings"] >= 17_000
    assert readings[0]["read_at"] == "2024-11-01T00:00:00"
    assert readings[-1]["read_at"] == "2026-10-31T23:00:00"
    assert [r["read_at"] for r in readings] == sorted(r["read_at"] for r in readings)
    _, billing, _ = await _collect(seeded_systems, catalog.systems["billing"], tolvan, tmp_path)
    invoice = billing["tables"]["invoices"]["rows"][0]
    assert isinstance(invoice["amount"], str)
    assert Decimal(invoice["amount"]).as_tuple().exponent == -2
    assert invoice["invoice_date"] == "2025-12-01"
    assert billing["tables"]["customers"]["rows"][0]["protected_identity"] is False


async def test_undeclared_columns_never_leak(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    data = catalog.systems["billing"].model_dump()
    del data["tables"]["customers"]["columns"]["email"]
    del data["tables"]["customers"]["erasure"]["anonymise"]["email"]  # must name declared columns
    narrowed = SystemDecl.model_validate(data)
    _, extract, text = await _collect(seeded_systems, narrowed, DEMO_SUBJECTS["tolvan"], tmp_path)
    assert "email" not in extract["tables"]["customers"]["rows"][0]
    assert "tolvan.tolvansson@example.se" not in text


async def test_missing_column_fails_and_leaves_the_previous_file(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    data = catalog.systems["billing"].model_dump()
    data["tables"]["customers"]["columns"]["shoe_size"] = {"category": "technical", "label": "Sko"}
    drifted = SystemDecl.model_validate(data)
    destination = tmp_path / "billing.json"
    destination.write_text("previous", encoding="utf-8")
    with pytest.raises(SystemSchemaError, match="'customers' has no column.* shoe_size"):
        await collect_subject(
            seeded_systems.engines["billing"], drifted, DEMO_SUBJECTS["tolvan"], destination
        )
    assert destination.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["billing.json"]


async def test_subject_id_is_a_bound_parameter(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    engine = seeded_systems.engines["billing"].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await _collect(
            seeded_systems, catalog.systems["billing"], DEMO_SUBJECTS["tolvan"], tmp_path
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    selects = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects
    assert all(DEMO_SUBJECTS["tolvan"] not in statement for statement, _ in statements)
    assert any(DEMO_SUBJECTS["tolvan"] in map(str, params) for _, params in selects)


async def test_malformed_subject_id_is_refused_without_echo(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    with pytest.raises(ValueError) as caught:
        await collect_subject(
            seeded_systems.engines["billing"],
            catalog.systems["billing"],
            "19121212-1212",
            tmp_path / "x",
        )
    assert "1212" not in str(caught.value)
    assert not (tmp_path / "x").exists()


async def test_a_systems_schema_is_reflected_once_in_a_while_not_for_every_collection(
    seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    billing = catalog.systems["billing"]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def reflections() -> int:
        # What SQLAlchemy asks the database when it reflects: SQLite's catalogue and pragmas,
        # PostgreSQL's catalogue.
        markers = ("sqlite_master", "pragma", "pg_catalog", "information_schema")
        found = sum(any(m in s.lower() for m in markers) for s in statements)
        statements.clear()
        return found

    sync_engine = seeded_systems.engines["billing"].sync_engine
    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        monkeypatch.setattr(connector, "REFLECTED_FOR_SECONDS", 0.0)
        await _collect(seeded_systems, billing, DEMO_SUBJECTS["tolvan"], tmp_path)
        assert reflections() > 0  # expired: the schema is read again
        monkeypatch.setattr(connector, "REFLECTED_FOR_SECONDS", 3600.0)
        summary, _, _ = await _collect(seeded_systems, billing, DEMO_SUBJECTS["tolvan"], tmp_path)
        await _collect(seeded_systems, billing, DEMO_SUBJECTS["tolvan"], tmp_path)
        assert reflections() == 0
        assert summary.found
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)
