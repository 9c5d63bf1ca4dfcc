"""The declarations: they load, they match the demo schemas, and a bad one fails clearly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.schemas import SYSTEM_TABLES
from systems.catalog import Catalog, CatalogError, load_catalog
from systems.fields import RECTIFIABLE_FIELDS, validate_rectification

SYSTEMS_DIR = Path(__file__).resolve().parents[2] / "systems"


def test_every_declaration_loads(catalog: Catalog) -> None:
    assert catalog.names() == ["billing", "disclosure", "marketing", "network"]
    for name, system in catalog.systems.items():
        assert system.name == name
        for key, table in system.tables.items():
            assert table.name == key
            assert table.label and table.purpose and table.legal_basis


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
    # Retention follows the document plan's disposal rules: meter values that bill the grid
    # fee are accounting records (EIFS 2016:2, Bokföringslagen 7 kap. 2 §), not six years.
    invoices = billing.tables["invoices"].erasure
    readings = catalog.systems["network"].tables["meter_readings"].erasure
    assert invoices is not None and readings is not None
    assert catalog.plan.rule(invoices.disposal or "").after == ["accounting"]
    assert catalog.plan.rule(readings.disposal or "").after == ["accounting"]
    assert readings.date_columns("accounting") == ["read_at"]
    # Recipients by name: the rows name the service provider; the metering point names the
    # supplier behind "Din elhandlare"; every named recipient is in the recipients register.
    assert catalog.systems["network"].tables["fibre_service_subscriptions"].recipient_column
    [supplier] = catalog.systems["network"].tables["metering_points"].recipient_categories()
    assert (supplier.category, supplier.column) == ("Din elhandlare", "electricity_supplier")
    for system in catalog.systems.values():
        for table in system.tables.values():
            for name in table.named_recipients():
                assert catalog.recipients.find(name) is not None, name
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


def test_every_table_names_its_disposal_rule_or_is_kept_for_good(catalog: Catalog) -> None:
    kept_for_good = set()
    for system in catalog.systems.values():
        for table in system.tables.values():
            if table.erasure is None:
                kept_for_good.add(f"{system.name}.{table.name}")
            else:
                assert table.erasure.disposal in catalog.plan.rules, f"{system.name}.{table.name}"
    # The disclosure log is an official document no disposal decision covers (arkivlagen).
    assert kept_for_good == {"disclosure.disclosures"}


def test_the_rights_declarations(catalog: Catalog) -> None:
    portable = {
        (s.name, t.name) for s in catalog.systems.values() for t in s.tables.values() if t.portable
    }
    assert portable == {
        ("billing", "customers"),
        ("billing", "contracts"),
        ("billing", "contract_holders"),
        ("network", "network_customers"),
        ("network", "metering_points"),
        ("network", "meter_readings"),
        ("network", "fibre_connections"),
        ("network", "fibre_service_subscriptions"),
        ("network", "outage_contacts"),
        ("marketing", "contacts"),
        ("marketing", "consents"),
    }
    assert {n for n, s in catalog.systems.items() if s.restriction} == {
        "billing",
        "network",
        "marketing",
        "disclosure",  # the archived log is kept after an erasure: restricted, not used
    }
    assert [n for n, s in catalog.systems.items() if s.suppression] == ["marketing"]
    fields = {
        (s.name, t.name, c): d.field
        for s in catalog.systems.values()
        for t in s.tables.values()
        for c, d in t.columns.items()
        if d.field
    }
    assert fields[("billing", "customers", "street")] == "street"
    assert fields[("marketing", "contacts", "email")] == "email"
    assert fields[("network", "outage_contacts", "phone")] == "phone"
    assert ("billing", "contracts", "facility_street") not in fields  # the site, not the person
    assert set(fields.values()) == set(RECTIFIABLE_FIELDS)


def test_an_erasure_without_a_disposal_rule_is_refused(tmp_path: Path) -> None:
    # The disclosure log is kept for good; declaring it erasable without a rule is refused.
    def change(data: Any) -> None:
        data["tables"]["disclosures"]["erasure"] = {"action": "delete"}

    with pytest.raises(CatalogError) as caught:
        load_catalog(_declarations_with(tmp_path, change, "disclosure.yaml"))
    message = str(caught.value)
    assert message.startswith("disclosure.yaml: tables.disclosures.erasure: disposal: ")
    assert "gallringsbeslut" in message and "arkivlagen" in message


def test_a_disposal_rule_the_plan_does_not_have_is_refused(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["tables"]["invoices"]["erasure"]["disposal"] = "DHP 9.9"

    with pytest.raises(
        CatalogError, match=r"^billing\.yaml: tables\.invoices\.erasure\.disposal: 'DHP 9\.9'"
    ):
        load_catalog(_declarations_with(tmp_path, change))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["tables"]["customers"]["erasure"]["anonymise"].update(shoe_size=None),
            "tables.customers.erasure.anonymise.shoe_size: 'shoe_size' is not a declared column",
        ),
        (
            lambda d: d["tables"]["customers"]["erasure"]["anonymise"].pop("personal_number"),
            "tables.customers.erasure.anonymise: must also replace personal_number",
        ),
        (
            lambda d: d["tables"]["customers"]["erasure"]["anonymise"].update(customer_id=None),
            "tables.customers.erasure.anonymise.customer_id: the primary key cannot be",
        ),
        (
            lambda d: d["tables"]["payments"]["erasure"].update(action="anonymise", anonymise={}),
            "tables.payments.erasure: anonymise: name the columns",
        ),
        (
            lambda d: d["tables"]["invoices"]["erasure"].update(
                dates={"accounting": "receipts.paid_at"}
            ),
            "tables.invoices.erasure.dates.accounting.0: 'receipts' is not a declared table",
        ),
        (
            lambda d: d["tables"]["invoices"]["erasure"].update(
                dates={"accounting": "payments.paid_on"}
            ),
            "tables.invoices.erasure.dates.accounting.0: 'paid_on' is not a declared column",
        ),
        (
            lambda d: d["tables"]["invoices"]["erasure"].update(dates={}),
            "tables.invoices.erasure.dates.accounting: rule 'DHP 4.3' counts accounting from a",
        ),
        (
            lambda d: d["tables"]["invoices"]["erasure"]["dates"].update(
                contract_ended="contract_id"
            ),
            "tables.invoices.erasure.dates.contract_ended: rule 'DHP 4.3' has no period",
        ),
        (
            lambda d: d["tables"]["invoices"]["erasure"].update(dates={"forever": "invoice_date"}),
            "tables.invoices.erasure.dates.forever",
        ),
        (
            lambda d: d["tables"]["invoices"]["columns"]["amount"].update(field="salary"),
            "tables.invoices.columns.amount.field",
        ),
        (
            lambda d: d["tables"]["invoices"].update(recipient_column="collector"),
            "tables.invoices.recipient_column: 'collector' is not a declared column",
        ),
        (
            lambda d: d["tables"]["invoices"].update(references={"contract_id": "contracts"}),
            "tables.invoices.references.contract_id: write it as table.column",
        ),
        (
            lambda d: d["tables"]["contracts"].update(
                references={"contract_id": "invoices.contract_id"}
            ),
            "references: the tables refer to each other in a cycle",
        ),
        (
            lambda d: d.update(restriction={"table": "invoices", "column": "amount"}),
            "restriction.table: 'invoices' is not a declared table linked by subject_column",
        ),
        (
            lambda d: d.update(restriction={"table": "customers", "column": "frozen"}),
            "restriction.column: 'frozen' is not a declared column",
        ),
        (
            lambda d: d.update(
                suppression={
                    "table": "customers",
                    "column": "protected_identity",
                    "consents": {"table": "consents", "withdrawn_column": "withdrawn_at"},
                }
            ),
            "suppression.consents.table: 'consents' is not a declared table",
        ),
    ],
)
def test_bad_rights_declarations_fail_with_the_field(
    tmp_path: Path, change: Any, expected: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(_declarations_with(tmp_path, change))
    assert str(caught.value).startswith("billing.yaml: ")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["tables"]["invoices"].update(recipient_categories_column="amount"),
            "tables.invoices.recipient_categories_column: only with recipient_column",
        ),
        (
            lambda d: d["tables"]["contracts"].update(disclosed_categories=["contract"]),
            "tables.contracts.disclosed_categories: the table declares no recipients",
        ),
        (
            lambda d: d["tables"]["invoices"].update(disclosed_categories=["salary"]),
            "tables.invoices.disclosed_categories.0",
        ),
        (
            # A field is the same kind of data everywhere, or a disclosure of "contact" data
            # could not be matched to a corrected e-mail address.
            lambda d: d["tables"]["customers"]["columns"]["email"].update(category="marketing"),
            "tables.customers.columns.email.category: field 'email' is 'contact' data",
        ),
    ],
)
def test_what_recipients_received_is_declared_consistently(
    tmp_path: Path, change: Any, expected: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(_declarations_with(tmp_path, change))
    assert expected in str(caught.value)


def _suppression_record(data: Any) -> Any:
    return data["tables"]["contacts"]["erasure"]["suppression_record"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: _suppression_record(d)["anonymise"].update(shoe_size=None),
            "tables.contacts.erasure.suppression_record.anonymise.shoe_size: 'shoe_size' is not "
            "a declared column of table 'contacts'",
        ),
        (
            lambda d: _suppression_record(d).update(when="opted_out"),
            "tables.contacts.erasure.suppression_record.when: 'opted_out' is not a declared column",
        ),
        (
            lambda d: _suppression_record(d)["anonymise"].update(marketing_objection=None),
            "tables.contacts.erasure.suppression_record: anonymise.marketing_objection: the "
            "objection column cannot be anonymised",
        ),
        (
            lambda d: _suppression_record(d)["anonymise"].update(personal_number=None),
            "suppression_record.anonymise.personal_number: the identity number "
            "(link.subject_column) cannot be anonymised",
        ),
        (
            lambda d: _suppression_record(d)["anonymise"].update(contact_id=None),
            "suppression_record.anonymise.contact_id: the primary key cannot be anonymised",
        ),
        (
            lambda d: _suppression_record(d)["anonymise"].pop("email"),
            "tables.contacts.erasure.suppression_record.anonymise: must also replace email",
        ),
        (
            lambda d: _suppression_record(d).update(anonymise={}),
            "tables.contacts.erasure.suppression_record.anonymise: Dictionary should have at "
            "least 1 item",
        ),
        (
            lambda d: d["tables"]["consents"]["erasure"].update(
                suppression_record={"when": "withdrawn_at", "anonymise": {"channel": None}}
            ),
            "tables.consents.erasure.suppression_record: only for a table linked by subject_column",
        ),
        (
            lambda d: d["tables"]["contacts"].update(
                columns={
                    **d["tables"]["contacts"]["columns"],
                    "first_campaign": {"category": "marketing", "label": "Första kampanj"},
                },
                references={"first_campaign": "campaigns.campaign_id"},
            ),
            "tables.contacts.erasure.suppression_record.anonymise: must also set first_campaign "
            "to null (it refers to campaigns",
        ),
    ],
)
def test_bad_suppression_records_fail_with_the_field(
    tmp_path: Path, change: Any, expected: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(_declarations_with(tmp_path, change, "marketing.yaml"))
    assert str(caught.value).startswith("marketing.yaml: ")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "  Tolvan   Tolvansson ", "Tolvan Tolvansson"),
        ("street", "Nygatan 5 B", "Nygatan 5 B"),
        ("postal_code", "72212", "722 12"),
        ("postal_code", " 722 12 ", "722 12"),
        ("city", "Västerås", "Västerås"),
        ("email", " Tolvan.Ny@Example.SE ", "Tolvan.Ny@example.se"),
        ("phone", "070-121 21 21", "+46701212121"),
        ("phone", "+46 70 121 21 21", "+46701212121"),
        ("phone", "0046701212121", "+46701212121"),
        ("phone", "08-123 456", "+468123456"),
        ("phone", "+48 600 123 456", "+48600123456"),
    ],
)
def test_rectified_values_are_normalised(field: str, value: str, expected: str) -> None:
    assert validate_rectification(field, value) == expected
    assert validate_rectification(field, expected) == expected  # normalising is idempotent


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("name", "   ", "name: must not be empty"),
        ("name", "12345", "name: must contain letters"),
        ("name", "A" * 101, "name: longer than 100 characters"),
        ("street", "Gatan\n5", "street: contains control characters"),
        ("city", "Å" * 61, "city: longer than 60 characters"),
        ("postal_code", "0722 1", "postal_code: expected five digits"),
        ("postal_code", "7221", "postal_code: expected five digits"),
        ("email", "tolvan.example.se", "email: is not one e-mail address"),
        ("email", "tolvan@example", "email: is not one e-mail address"),
        ("email", "a@" + "b" * 250 + ".se", "email: longer than 254 characters"),
        ("phone", "701212121", "phone: give a Swedish number"),
        ("phone", "070-12", "phone: a Swedish number has 8-10 digits"),
        ("phone", "070-121 21 21 ext 4", "phone: may only contain digits"),
        ("phone", "+48 12", "phone: an international number has 8-15 digits"),
        ("shoe_size", "44", "field: not one of name, street, postal_code, city, email, phone"),
    ],
)
def test_bad_rectified_values_are_refused_without_echo(
    field: str, value: str, problem: str
) -> None:
    with pytest.raises(ValueError) as caught:
        validate_rectification(field, value)
    assert str(caught.value).startswith(problem)
    stripped = value.strip()
    assert len(stripped) < 3 or stripped not in str(caught.value)


def test_a_recipient_the_register_does_not_know_is_refused(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["tables"]["invoices"]["recipients"][0] = "Tryckeri och distributör av fakturor"

    with pytest.raises(CatalogError) as caught:
        load_catalog(_declarations_with(tmp_path, change))
    assert str(caught.value).startswith("billing.yaml: tables.invoices.recipients.0: ")
    assert "not in the recipients register" in str(caught.value)
