"""The answer's forms: the Swedish HTML letter (on screen, or on paper with the long tables
annexed), the JSON file, and for portability the CSV tables in a zip (Art. 20) with its cover.
"""

from __future__ import annotations

import csv
import html
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from activities.answer import shown_value
from activities.collected import RowText
from activities.places import OTHER_PERSON_NOTE_SV
from contract.calendar import STOCKHOLM

# Tables longer than this are summarised in the HTML letter; every row is in the JSON file.
HTML_ROW_LIMIT = 100


# A cell a spreadsheet would run as a formula (OWASP, CSV injection): text from the systems
# starting so gets a leading apostrophe, which spreadsheets show as text. Numbers stay numbers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_zip(tables: dict[str, list[dict[str, Any]]]) -> bytes:
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


def portable_cover(
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


# Whether a place searched held anything, in the answer's words.
FOUND_SV, NOT_FOUND_SV = "uppgifter om dig finns", "inga uppgifter om dig"

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
        + "".join(f"<td>{e(_cell(shown_value(table, c, row.get(c))))}</td>" for c in columns)
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
