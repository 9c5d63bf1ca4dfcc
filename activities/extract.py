"""Build the access answer (Art. 15): JSON for machines, HTML in Swedish for people."""

from __future__ import annotations

import csv
import html
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from temporalio import activity

from activities.collected import RowText, read_collected
from activities.places import OTHER_PERSON_NOTE_SV
from activities.store import ExtractStore
from contract.calendar import STOCKHOLM
from contract.case import ExtractResult
from contract.extracts import (
    DeleteExtractsInput,
    DeleteExtractsResult,
    DisposalDue,
    DisposalDueInput,
)
from contract.steps import BuildExtractInput
from contract.vocabulary import Channel
from infra.adapters import HoldsCaseFiles
from infra.recipients import RecipientsRegister
from systems.catalog import CATEGORY_NAMES_SV, Catalog, TableDecl
from systems.disposal import ARCHIVED_SV, DocumentPlan, retention_sv
from systems.places import ARCHIVE, REGISTER

# Tables longer than this are summarised in the HTML letter; every row is in the JSON file.
HTML_ROW_LIMIT = 100

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


FOUND_SV, NOT_FOUND_SV = "uppgifter om dig finns", "inga uppgifter om dig"
# What the places beyond the systems hold, as the answer's categories name it.
PLACE_CATEGORIES_SV = {
    ARCHIVE: "Handlingar som nämner dig (brev, klagomål, avtal)",
    REGISTER: "Dina tidigare begäranden och våra svar",
}


@dataclass(frozen=True)
class Controller:
    name: str
    contact: str
    dpo_contact: str


RIGHTS_SV = [
    "Du har rätt att få felaktiga uppgifter rättade och ofullständiga uppgifter kompletterade "
    "(artikel 16).",
    "Du har rätt att få uppgifter raderade när de inte längre behövs eller behandlas "
    "felaktigt, om inte lag kräver att vi sparar dem (artikel 17).",
    "Du har rätt att begära att behandlingen begränsas, till exempel medan riktigheten "
    "kontrolleras (artikel 18).",
    "Du har rätt att invända mot behandling, och alltid mot direktmarknadsföring (artikel 21).",
    "Du har rätt att få ut uppgifter du lämnat i ett maskinläsbart format (artikel 20).",
]
COMPLAINT_SV = (
    "Du har rätt att lämna klagomål till Integritetsskyddsmyndigheten (IMY), Box 8114, "
    "104 20 Stockholm, www.imy.se."
)


class ExtractActivities:
    def __init__(
        self,
        catalog: Catalog,
        store: ExtractStore,
        controller: Controller,
        *,
        retention_days: int = 30,
        release_policy: str = "review",
        others: Sequence[HoldsCaseFiles] = (),
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._controller = controller
        self._retention_days = retention_days
        self._release_policy = release_policy
        # Adapters that keep files of their own about a case (the demo's outboxes).
        self._others = tuple(others)

    @activity.defn
    async def disposal_due(self, request: DisposalDueInput) -> DisposalDue:
        """When a closed case's files go: the configured days after it closed (in history, so
        a changed setting does not move a waiting deletion)."""
        days = self._retention_days
        return DisposalDue(at=request.closed_at + timedelta(days=days), days=days)

    @activity.defn
    async def delete_extracts(self, request: DeleteExtractsInput) -> DeleteExtractsResult:
        """Delete every file of the case from the store, and what adapters keep of it (the
        demo's outboxes and print folder); a retry finds nothing and says 0."""
        files = self._store.delete_case(request.case_number)
        files += sum(other.delete_case(request.case_number) for other in self._others)
        activity.logger.info(
            "extracts deleted", extra={"case_number": request.case_number, "files": files}
        )
        return DeleteExtractsResult(files=files)

    @activity.defn
    async def build_extract(self, request: BuildExtractInput) -> ExtractResult:
        """Merge the collected files into the answer; idempotent (same inputs, same files)."""
        answer = self._answer(request)
        json_ref = self._store.ref(request.case_number, request.version, "extract.json")
        html_ref = self._store.ref(request.case_number, request.version, "extract.html")
        # One file at a time, each encoded at once, so years of readings are held as rows
        # plus one file's text: json's fast encoder (no indent), ASCII with \u escapes (one
        # byte a character in memory, the same JSON to any reader).
        self._store.write(json_ref, answer_json(answer))
        self._store.write(html_ref, render_html(answer).encode())
        rows = sum(sum(c.tables.values()) for c in request.collections)
        return ExtractResult(
            version=request.version,
            json_ref=json_ref,
            html_ref=html_ref,
            subject_found=any(c.found for c in request.collections),
            rows=rows,
            systems=[c.system for c in request.collections],
            # Cases from before the population register chose a letter by the customer record;
            # a letter now always goes to the population-register address (delivery).
            has_postal_address=_postal_address(self._catalog, answer["systems"]) is not None,
            release_policy=self._release_policy,
        )

    def _answer(self, request: BuildExtractInput) -> dict[str, Any]:
        systems: list[dict[str, Any]] = []
        disclosures: list[dict[str, Any]] = []
        # Every place searched, by name, whether it held anything (the answer claims no more).
        places: list[dict[str, Any]] = []
        documents: dict[str, Any] | None = None
        earlier: dict[str, Any] | None = None
        for collection in request.collections:
            if collection.system in self._catalog.systems:
                continue
            content = json.loads(self._store.read(collection.ref))
            places.append(
                {"name": collection.system, "title": content["title"], "found": collection.found}
            )
            if collection.system == ARCHIVE:
                documents = content
            elif collection.system == REGISTER:
                earlier = content
        for collection in sorted(request.collections, key=lambda c: c.system):
            if collection.system not in self._catalog.systems:
                continue
            declaration = self._catalog.systems[collection.system]
            # Long tables stay text (activities/collected.py): ten years of readings are
            # copied into the answer, not built as rows.
            collected = read_collected(self._store.read(collection.ref), HTML_ROW_LIMIT)
            tables = []
            for name, table in declaration.tables.items():
                rows = collected["tables"].get(name, {}).get("rows", [])
                if not rows:
                    continue
                section = _table_section(table, rows, self._catalog.plan)
                tables.append(section)
                if declaration.disclosure_log:
                    disclosures.extend(
                        {column: _shown(section, column, value) for column, value in row.items()}
                        for row in rows
                    )
            if tables:
                systems.append(
                    {"system": declaration.name, "title": declaration.title, "tables": tables}
                )
        searched = [
            {"name": c.system, "title": self._catalog.systems[c.system].title, "found": c.found}
            for c in sorted(request.collections, key=lambda c: c.system)
            if c.system in self._catalog.systems
        ]
        all_tables = [t for s in systems for t in s["tables"]]
        # The places beyond the systems, where they held something, as the lists name them.
        held = [place for place in (documents, earlier) if place and _entries(place)]
        return {
            "case_number": request.case_number,
            "generated_at": datetime.now(UTC).isoformat(),
            "received_at": request.received_at.isoformat(),
            "format": "application/json" if request.channel is not Channel.LETTER else "text/html",
            "controller": {
                "name": self._controller.name,
                "contact": self._controller.contact,
                "data_protection_officer": self._controller.dpo_contact,
            },
            "subject_found": bool(systems) or bool(held),
            "places_searched": searched + places,
            "systems": systems,
            "documents": documents,
            "earlier_cases": earlier,
            "purposes": _unique(
                [*(t["purpose"] for t in all_tables), *(p["purpose"] for p in held)]
            ),
            "categories": _unique(
                [
                    *(c for t in all_tables for c in t["categories"]),
                    *(PLACE_CATEGORIES_SV[p["system"]] for p in held),
                ]
            ),
            "legal_bases": _unique(
                [*(t["legal_basis"] for t in all_tables), *(p["legal_basis"] for p in held)]
            ),
            "retention": [{"table": t["label"], "rule": t["retention"]} for t in all_tables]
            + [{"table": p["label"], "rule": ARCHIVED_SV} for p in held],
            "recipients": _recipients(all_tables, disclosures, self._catalog.recipients),
            "sources": _unique(t["source"] for t in all_tables),
            "automated_decisions": [
                {"table": t["label"], "logic": t["automated_decision"]}
                for t in all_tables
                if t["automated_decision"]
            ],
            "rights": RIGHTS_SV,
            "complaint": COMPLAINT_SV,
        }

    @activity.defn
    async def build_portable(self, request: BuildExtractInput) -> ExtractResult:
        """Art. 20: what the subject provided or what was observed under the contract, as JSON
        and as one CSV per table (bundled in a zip), with a short Swedish cover note."""
        tables: dict[str, list[dict[str, Any]]] = {}
        for collection in sorted(request.collections, key=lambda c: c.system):
            declaration = self._catalog.systems[collection.system]
            collected = json.loads(self._store.read(collection.ref))
            for name, table in declaration.tables.items():
                rows = collected["tables"].get(name, {}).get("rows", [])
                if table.portable and rows:
                    tables[f"{collection.system}.{name}"] = rows
        ref = partial(self._store.ref, request.case_number, request.version)
        json_ref, zip_ref, html_ref = (
            ref("portability.json"),
            ref("portability-csv.zip"),
            ref("portability.html"),
        )
        payload = {
            "case_number": request.case_number,
            "generated_at": datetime.now(UTC).isoformat(),
            "controller": self._controller.name,
            "tables": tables,
        }
        self._store.write(json_ref, json.dumps(payload, ensure_ascii=False).encode())
        self._store.write(zip_ref, _csv_zip(tables))
        searched = [
            self._catalog.systems[c.system].title
            for c in sorted(request.collections, key=lambda c: c.system)
            if c.system in self._catalog.systems
        ]
        self._store.write(html_ref, _portable_cover(request.case_number, tables, searched))
        return ExtractResult(
            version=request.version,
            json_ref=json_ref,
            html_ref=html_ref,
            subject_found=bool(tables),
            rows=sum(len(rows) for rows in tables.values()),
            systems=sorted({name.split(".")[0] for name in tables}),
            has_postal_address=False,  # machine-readable data is not sent on paper
            extra_refs=[zip_ref],
        )


# A cell a spreadsheet would run as a formula (OWASP, CSV injection): text from the systems
# starting so gets a leading apostrophe, which spreadsheets show as text. Numbers stay numbers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_zip(tables: dict[str, list[dict[str, Any]]]) -> bytes:
    """One CSV per table, zipped (the rows are in memory already, as for the JSON)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, rows in tables.items():
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({key: _inert(value) for key, value in row.items()} for row in rows)
            bundle.writestr(f"{name}.csv", buffer.getvalue())
    return archive.getvalue()


def _portable_cover(
    case_number: str, tables: dict[str, list[dict[str, Any]]], searched: list[str]
) -> str:
    """The cover note: what is attached, and where we looked (no more is claimed)."""
    listing = "".join(
        f"<li>{html.escape(name)}: {len(rows)} rader</li>" for name, rows in tables.items()
    )
    places = ", ".join(html.escape(title) for title in searched)
    return (
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'><title>Dataportabilitet "
        f"{html.escape(case_number)}</title></head><body><h1>Dina uppgifter i maskinläsbart "
        "format (artikel 20)</h1><p>Bifogat finns uppgifterna du lämnat till oss och de som "
        "registrerats när vi fullgjort ditt avtal, som JSON (portability.json) och som en "
        "CSV-fil per tabell (portability-csv.zip). Du kan ge dem till en annan leverantör.</p>"
        f"<ul>{listing or '<li>Inga uppgifter</li>'}</ul><p>Vi har hämtat uppgifterna ur: "
        f"{places}. Diariet och ärenderegistret har vi inte tagit med: där behandlas uppgifter "
        "för att lagen kräver det, inte med stöd av ditt samtycke eller ett avtal, och rätten "
        "till dataportabilitet gäller inte dem (artikel 20.1). Du kan få en kopia av allt vi "
        "har om dig genom en begäran om registerutdrag (artikel 15).</p></body></html>"
    )


# Rows are encoded this many at a time (see answer_json).
JSON_ROW_BATCH = 5_000


def answer_json(answer: dict[str, Any]) -> bytearray:
    """The answer as JSON (ASCII, \\u escapes), its tables' rows encoded in batches; a long
    table's rows (RowText) copied as the collected file has them (UTF-8).

    Encoding the whole answer at once would hold, besides the rows, one small string for every
    piece of every row until the end (hundreds of MB for ten years of meter readings); here
    only a batch's pieces exist at a time, appended to one buffer.
    """
    tables = [table for system in answer["systems"] for table in system["tables"]]
    held = [table["rows"] for table in tables]
    markers = [f"\x00rows{index}\x00" for index in range(len(tables))]
    try:
        for table, marker in zip(tables, markers, strict=True):
            table["rows"] = marker
        skeleton = json.dumps(answer)
    finally:
        for table, rows in zip(tables, held, strict=True):
            table["rows"] = rows
    out = bytearray()
    rest = skeleton
    for marker, rows in zip(markers, held, strict=True):
        before, rest = rest.split(json.dumps(marker), 1)
        out += before.encode()
        out += b"["
        if isinstance(rows, RowText):
            # The collected file's own text of the rows (UTF-8 JSON, as valid as the escapes).
            for index, chunk in enumerate(rows.chunks):
                if index:
                    out += b","
                out += chunk
        else:
            for start in range(0, len(rows), JSON_ROW_BATCH):
                if start:
                    out += b","
                out += json.dumps(rows[start : start + JSON_ROW_BATCH])[1:-1].encode()
        out += b"]"
    out += rest.encode()
    return out


def _table_section(
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
        "categories": _unique(CATEGORY_LABELS_SV[c.category] for c in table.columns.values()),
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


def _entries(place: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents or the earlier requests a place's collection found."""
    found: list[dict[str, Any]] = place.get("documents") or place.get("cases") or []
    return found


def _shown(table: dict[str, Any], column: str, value: Any) -> Any:
    """A cell as the subject reads it: a code by its Swedish words (the table's legend), a
    list of categories by their names; anything else as it is."""
    legend: dict[str, str] | None = table.get("legend", {}).get(column)
    if not legend or not isinstance(value, str):
        return value
    if column in table.get("lists", ()):
        return ", ".join(legend.get(p.strip(), p.strip()) for p in value.split(",") if p.strip())
    return legend.get(value, value)


def _recipients(
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


def _postal_address(catalog: Catalog, systems: list[dict[str, Any]]) -> list[str] | None:
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


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v))


def render_html(answer: dict[str, Any], *, paper: bool = False) -> str:
    """The answer as the subject reads it. On screen (`paper` False) a long table shows its
    first HTML_ROW_LIMIT rows, every row being in extract.json beside it. On paper nothing can
    be beside it: every row of a long table is printed in an annex page of its own."""
    e = html.escape
    annexes: list[str] = []
    received = datetime.fromisoformat(answer["received_at"]).astimezone(STOCKHOLM)
    parts = [
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'>",
        f"<title>Registerutdrag {e(answer['case_number'])}</title></head><body>",
        "<h1>Registerutdrag enligt artikel 15 dataskyddsförordningen</h1>",
        f"<p>Ärende {e(answer['case_number'])}, begäran mottagen "
        f"{received:%Y-%m-%d}. Personuppgiftsansvarig: {e(answer['controller']['name'])}, "
        f"{e(answer['controller']['contact'])}. Dataskyddsombud: "
        f"{e(answer['controller']['data_protection_officer'])}.</p>",
    ]
    searched = answer.get("places_searched")
    if not answer["subject_found"]:
        parts.append("<p><strong>Vi behandlar inga personuppgifter om dig.</strong></p>")
    if searched is not None:
        # Every place searched, by name: the answer says where it looked, and claims no more.
        parts.append(
            "<h2>Där vi har sökt</h2>"
            + _html_list(
                f"{p['title']}: {FOUND_SV if p['found'] else NOT_FOUND_SV}" for p in searched
            )
        )
    elif not answer["subject_found"]:
        parts.append("<p>Vi har sökt i de system där kunduppgifter finns.</p>")
    if answer["subject_found"]:
        parts.append("<h2>Dina personuppgifter</h2>")
        for system in answer["systems"]:
            parts.append(f"<h3>{e(system['title'])}</h3>")
            for table in system["tables"]:
                if paper and len(table["rows"]) > HTML_ROW_LIMIT:
                    parts.append(_annexed(table, len(annexes) + 1))
                    annexes.append(_annex(table, len(annexes) + 1))
                else:
                    parts.append(_html_table(table))
        if answer.get("documents") and answer["documents"]["documents"]:
            parts.append(_html_documents(answer["documents"]))
        if answer.get("earlier_cases") and answer["earlier_cases"]["cases"]:
            parts.append(_html_earlier_cases(answer["earlier_cases"]))
        parts.append("<h2>Ändamål</h2>" + _html_list(answer["purposes"]))
        parts.append("<h2>Kategorier av personuppgifter</h2>" + _html_list(answer["categories"]))
        parts.append("<h2>Rättslig grund</h2>" + _html_list(answer["legal_bases"]))
        parts.append(
            "<h2>Mottagare</h2>"
            + _html_list(
                f"{r['name']} ({r['type']}{', ' + r['date'] if r['date'] else ''})"
                for r in answer["recipients"]
            )
        )
        parts.append(
            "<h2>Lagringstid</h2>"
            + _html_list(f"{r['table']}: {r['rule']}" for r in answer["retention"])
        )
        parts.append("<h2>Varifrån uppgifterna kommer</h2>" + _html_list(answer["sources"]))
        parts.append(
            "<h2>Automatiserat beslutsfattande</h2>"
            + (
                _html_list(f"{a['table']}: {a['logic']}" for a in answer["automated_decisions"])
                if answer["automated_decisions"]
                else "<p>Inget automatiserat beslutsfattande.</p>"
            )
        )
    parts.append("<h2>Dina rättigheter</h2>" + _html_list(answer["rights"]))
    parts.append(f"<p>{e(answer['complaint'])}</p>")
    if paper:
        parts.append(
            "<p>Vill du också ha uppgifterna i ett maskinläsbart format, kontakta oss och ange "
            "ärendenumret.</p>"
        )
        parts.extend(annexes)
    else:
        parts.append("<p>Uppgifterna finns också i maskinläsbart format (extract.json).</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_documents(place: dict[str, Any]) -> str:
    """The documents that name the subject: a list, then each copy, other people masked."""
    e = html.escape
    listing = "".join(
        f"<tr><td>{e(d['date'])}</td><td>{e(d['type'])}</td><td>{e(d['title'])}</td></tr>"
        for d in place["documents"]
    )
    copies = "".join(
        f"<h4>{e(d['title'])} ({e(d['date'])})</h4><pre>{e(d['copy'])}</pre>"
        for d in place["documents"]
    )
    note = (
        f"<p>{e(OTHER_PERSON_NOTE_SV)}</p>" if any(d["masked"] for d in place["documents"]) else ""
    )
    return (
        f"<h3>{e(place['title'])}</h3><h4>{e(place['label'])}</h4>"
        f"<p>Ändamål: {e(_sentence(place['purpose']))} Rättslig grund: "
        f"{e(_sentence(place['legal_basis']))}</p>"
        f"<table border='1'><tr><th>Datum</th><th>Typ av handling</th><th>Rubrik</th></tr>"
        f"{listing}</table><h4>Kopior av handlingarna</h4>{note}{copies}"
    )


def _html_earlier_cases(place: dict[str, Any]) -> str:
    """The subject's earlier requests and what we sent in each."""
    e = html.escape
    items = []
    for case in place["cases"]:
        closed = f", avslutad {case['closed']}" if case["closed"] else ""
        sent = "".join(f"<li>{e(s['date'])}: {e(s['what'])}</li>" for s in case["letters"])
        items.append(
            f"<li>{e(case['case_number'])}: {e(case['kind'])}, mottagen {e(case['received'])}"
            f"{e(closed)}, {e(case['outcome'])}" + (f"<ul>{sent}</ul>" if sent else "") + "</li>"
        )
    return (
        f"<h3>{e(place['title'])}</h3><h4>{e(place['label'])}</h4>"
        f"<p>Ändamål: {e(_sentence(place['purpose']))} Rättslig grund: "
        f"{e(_sentence(place['legal_basis']))}</p><ul>{''.join(items)}</ul>"
    )


def _annexed(table: dict[str, Any], number: int) -> str:
    """Where a long table stands in a paper letter: what it is, and the annex with its rows."""
    rows = len(table["rows"])
    return f"{_table_heading(table)}<p>Samtliga {rows} rader finns i bilaga {number}.</p>"


def _annex(table: dict[str, Any], number: int) -> str:
    """An annex of a paper letter: every row of one table, from a new page."""
    title = f"Bilaga {number}: {table['label']} ({len(table['rows'])} rader)"
    return (
        "<section class='bilaga' style='page-break-before: always'>"
        f"<h2>{html.escape(title)}</h2>{_rows_table(table, table['rows'])}</section>"
    )


def _html_table(table: dict[str, Any]) -> str:
    rows: Sequence[dict[str, Any]] = table["rows"]
    note = ""
    if len(rows) > HTML_ROW_LIMIT:
        note = (
            f"<p>Visar {HTML_ROW_LIMIT} av {len(rows)} rader. Samtliga rader finns i "
            "den maskinläsbara filen extract.json.</p>"
        )
    return f"{_table_heading(table)}{_rows_table(table, rows[:HTML_ROW_LIMIT])}{note}"


def _table_heading(table: dict[str, Any]) -> str:
    e = html.escape
    return (
        f"<h4>{e(table['label'])}</h4><p>Ändamål: {e(_sentence(table['purpose']))} "
        f"Rättslig grund: {e(_sentence(table['legal_basis']))} "
        f"Källa: {e(_sentence(table['source']))}</p>"
    )


def _rows_table(table: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    e = html.escape
    columns: dict[str, str] = table["columns"]
    head = "".join(f"<th>{e(label)}</th>" for label in columns.values())
    body = "".join(
        "<tr>"
        + "".join(f"<td>{e(_cell(_shown(table, c, row.get(c))))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    return f"<table border='1'><tr>{head}</tr>{body}</table>"


def _sentence(text: str) -> str:
    return text if text.rstrip().endswith(".") else f"{text.rstrip()}."


def _html_list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in items) + "</ul>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    return str(value)
