"""What the answer to an access request says of each table and place (Art. 15(1)(a)-(h)): its
data categories as the person reads them, its purposes, legal bases and retention, its
recipients, and the rows to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from activities.collected import RowText
from infra.recipients import RecipientsRegister
from systems.catalog import Catalog
from systems.disposal import DocumentPlan, retention_sv
from systems.tables import CATEGORY_NAMES_SV, TableDecl

# The data categories of systems/*.yaml, as the answer names them to the person.
CATEGORY_LABELS_SV = {
    "identifier": "Identitetsuppgifter (namn, person- eller samordningsnummer, kundnummer)",
    "contact": "Kontaktuppgifter (e-post, telefon)",
    "address": "Adressuppgifter",
    "contract": "Avtalsuppgifter",
    "billing": "Fakturauppgifter",
    "payment": "Betalningsuppgifter",
    "credit": "Kreditupplysning",
    "metering": "Mätvärden (elförbrukning)",
    "connection": "Uppgifter om anslutning (elnät, fiber)",
    "service_provider": "Valda tjänsteleverantörer",
    "consent": "Samtycken",
    "marketing": "Marknadsföring",
    "disclosure": "Utlämnanden till andra",
    "technical": "Tekniska uppgifter (löpnummer, tidsstämplar)",
}


def table_section(
    table: TableDecl, rows: Sequence[dict[str, Any]], plan: DocumentPlan
) -> dict[str, Any]:
    return {
        "table": table.name,
        "label": table.label,
        "purpose": table.purpose,
        "legal_basis": table.legal_basis,
        # Art. 15(1)(d): how long, as the document plan's disposal rule says (systems.disposal).
        "retention": retention_sv(plan, table.erasure.disposal if table.erasure else None),
        "source": table.source,
        "automated_decision": table.automated_decision,
        # Art. 15(1)(c): recipients by name where known; categories resolved through a column
        # of the rows (or the link's parent), else named as a category.
        "recipients": table.named_recipients(),
        "recipient_categories": [r.model_dump() for r in table.recipient_categories()],
        "recipient_column": table.recipient_column,
        "categories": unique_in_order(
            CATEGORY_LABELS_SV[c.category] for c in table.columns.values()
        ),
        "columns": {name: column.label for name, column in table.columns.items()},
        # What the codes some columns hold mean, in Swedish: the letter shows the words, the
        # rows here keep the stored value. `lists`: columns holding a list of categories.
        "legend": {
            name: dict(CATEGORY_NAMES_SV) if column.categories else dict(column.values)
            for name, column in table.columns.items()
            if column.values or column.categories
        },
        "lists": [name for name, column in table.columns.items() if column.categories],
        "rows": rows,
    }


def place_entries(place: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents or the earlier requests a place's collection found."""
    found: list[dict[str, Any]] = place.get("documents") or place.get("cases") or []
    return found


def shown_value(table: dict[str, Any], column: str, value: Any) -> Any:
    """A cell as the subject reads it: a code by its Swedish words (the table's legend), a
    list of categories by their names; anything else as it is."""
    legend: dict[str, str] | None = table.get("legend", {}).get(column)
    if not legend or not isinstance(value, str):
        return value
    if column in table.get("lists", ()):
        return ", ".join(legend.get(p.strip(), p.strip()) for p in value.split(",") if p.strip())
    return legend.get(value, value)


def answer_recipients(
    tables: list[dict[str, Any]],
    disclosures: list[dict[str, Any]],
    register: RecipientsRegister,
) -> list[dict[str, str]]:
    """Who received the subject's data, by name where known (Art. 15(1)(c)): the disclosure
    log's releases; each table's named recipients; the recipients its rows name (a fibre
    service provider, the electricity supplier of a metering point); and, where nothing names
    them, the category."""
    found: list[dict[str, str]] = [
        {
            "name": str(row.get("recipient")),
            "type": str(row.get("recipient_type")),
            "date": str(row.get("disclosed_at")),
            "purpose": str(row.get("purpose")),
            "source": "utlämnandelogg",
        }
        for row in disclosures
    ]
    by_name = {t["table"]: t for t in tables}

    def add(name: str, kind: str, table: dict[str, Any]) -> None:
        entry = {
            "name": name,
            "type": kind,
            "date": "",
            "purpose": table["purpose"],
            "source": table["label"],
        }
        if entry not in found:
            found.append(entry)

    for table in tables:
        for name in table["recipients"]:
            add(name, register.kind_sv(name) or "mottagare", table)
        column = table.get("recipient_column")
        if column:
            for name in _distinct(table["rows"], column):
                add(name, register.kind_sv(name) or "mottagare", table)
        for category in table.get("recipient_categories", ()):
            owner, _, name_column = (category["column"] or "").rpartition(".")
            source = by_name.get(owner) if owner else table
            names = _distinct(source["rows"], name_column) if source and name_column else []
            for name in names:
                add(name, category["category"], table)
            if not names:
                add(category["category"], "mottagarkategori", table)
    return found


def _distinct(rows: Sequence[dict[str, Any]], column: str) -> list[str]:
    """The distinct values of a column in a table's rows; a long table's rows are not read
    (none of those names a recipient)."""
    if isinstance(rows, RowText):
        return []
    return list(dict.fromkeys(str(row[column]) for row in rows if row.get(column)))


def postal_address(catalog: Catalog, systems: list[dict[str, Any]]) -> list[str] | None:
    """Name, street and "postal code + city" from the subject's own customer record."""
    for section in systems:
        address = catalog.systems[section["system"]].postal_address
        if address is None:
            continue
        for table in section["tables"]:
            if table["table"] != address.table or not table["rows"]:
                continue
            row = table["rows"][0]
            lines = [
                str(row.get(address.name) or ""),
                str(row.get(address.street) or ""),
                f"{row.get(address.postal_code) or ''} {row.get(address.city) or ''}".strip(),
            ]
            if all(lines):
                return lines
    return None


def unique_in_order(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v))
