"""The declarations: they load, they match the demo schemas, and a bad one fails clearly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from systems.catalog import Catalog, CatalogError, load_catalog
from systems.demo import SYSTEM_TABLES

SYSTEMS_DIR = Path(__file__).resolve().parents[2] / "systems"


def test_every_declaration_loads(catalog: Catalog) -> None:
    assert catalog.names() == ["billing", "disclosure", "marketing", "network"]
    for name, system in catalog.systems.items():
        assert system.name == name
        for key, table in system.tables.items():
            assert table.name == key
            assert table.label and table.purpose and table.legal_basis and table.retention


def test_declarations_and_demo_schemas_match_both_ways(catalog: Catalog) -> None:
    assert set(catalog.systems) == set(SYSTEM_TABLES)
    for name, metadata in SYSTEM_TABLES.items():
        system = catalog.systems[name]
        assert set(system.tables) == set(metadata.tables), name
        for table_name, table in metadata.tables.items():
            declared = system.tables[table_name]
            assert set(declared.columns) == set(table.c.keys()), f"{name}.{table_name}"
            assert [c.name for c in table.primary_key.columns] == [declared.primary_key]


def test_what_the_access_answer_needs_is_declared(catalog: Catalog) -> None:
    billing = catalog.systems["billing"]
    credit = billing.tables["credit_checks"]
    assert "UC AB" in credit.source
    assert credit.automated_decision
    assert billing.tables["customers"].source == "Den registrerade"
    assert billing.protected_identity is not None
    assert billing.tables["invoices"].retention.endswith("(bokföringslagen 7 kap. 2 §)")
    assert catalog.systems["network"].tables["meter_readings"].retention == (
        "Mätvärden sparas i minst sex år (EIFS 2016:2)"
    )
    assert catalog.systems["network"].tables["fibre_service_subscriptions"].recipients
    assert [n for n, s in catalog.systems.items() if s.disclosure_log] == ["disclosure"]
    assert [n for n, s in catalog.systems.items() if s.protected_identity] == ["billing"]


def _declarations_with(tmp_path: Path, change: Any, file: str = "billing.yaml") -> Path:
    """A copy of the shipped declarations with one file's data changed by `change`."""
    for path in SYSTEMS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    data = yaml.safe_load((tmp_path / file).read_text(encoding="utf-8"))
    change(data)
    (tmp_path / file).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_link_to_an_undeclared_table_names_file_and_field(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["tables"]["payments"]["link"]["parent"] = "receipts"

    with pytest.raises(CatalogError) as caught:
        load_catalog(_declarations_with(tmp_path, change))
    message = str(caught.value)
    assert message.startswith("billing.yaml: ")
    assert "tables.payments.link.parent" in message
    assert "'receipts' is not a declared table" in message


def test_unknown_column_category_names_file_and_field(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["tables"]["customers"]["columns"]["email"]["category"] = "gossip"

    with pytest.raises(CatalogError, match=r"^billing\.yaml: .*tables\.customers\.columns\.email"):
        load_catalog(_declarations_with(tmp_path, change))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["tables"]["payments"]["link"].update(subject_column="invoice_id"),
            "tables.payments.link: give either subject_column or",
        ),
        (
            lambda d: d["tables"]["invoices"]["link"].update(parent_column="nothing"),
            "tables.invoices.link.parent_column: 'nothing' is not a declared column",
        ),
        (
            lambda d: d["tables"]["customers"].update(
                link={"column": "customer_id", "parent": "invoices", "parent_column": "customer_id"}
            ),
            "links form a cycle",
        ),
        (
            lambda d: d["tables"]["contracts"].update(order_by="signed_on"),
            "tables.contracts.order_by: 'signed_on' is not a declared column",
        ),
        (
            lambda d: d["tables"]["contracts"].update(retension="för alltid"),
            "tables.contracts.retension: Extra inputs are not permitted",
        ),
        (
            lambda d: d.update(protected_identity={"table": "customers", "column": "hidden"}),
            "protected_identity.column: 'hidden' is not a declared column",
        ),
        (
            lambda d: d["tables"]["customers"]["columns"].update({"drop table": {}}),
            "tables.customers.columns.drop table",
        ),
    ],
)
def test_bad_declarations_fail_with_the_field(tmp_path: Path, change: Any, expected: str) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(_declarations_with(tmp_path, change))
    assert str(caught.value).startswith("billing.yaml: ")
    assert expected in str(caught.value)


def test_a_system_declared_twice_is_refused(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["name"] = "network"

    expected = "network.yaml: name: system 'network' is also declared in billing.yaml"
    with pytest.raises(CatalogError, match=expected):
        load_catalog(_declarations_with(tmp_path, change))


def test_a_directory_without_declarations_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no system declarations"):
        load_catalog(tmp_path)
