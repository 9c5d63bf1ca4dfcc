"""Build the access answer (Art. 15): JSON for machines, HTML in Swedish for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from temporalio import activity

from activities.answer import (
    answer_recipients,
    place_entries,
    postal_address,
    shown_value,
    table_section,
    unique_in_order,
)
from activities.collected import read_collected
from activities.rendering import HTML_ROW_LIMIT, answer_json, csv_zip, portable_cover, render_html
from activities.store import ExtractStore
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
from systems.catalog import Catalog
from systems.disposal import ARCHIVED_SV
from systems.places import ARCHIVE, REGISTER

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
            has_postal_address=postal_address(self._catalog, answer["systems"]) is not None,
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
                section = table_section(table, rows, self._catalog.plan)
                tables.append(section)
                if declaration.disclosure_log:
                    disclosures.extend(
                        {
                            column: shown_value(section, column, value)
                            for column, value in row.items()
                        }
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
        held = [place for place in (documents, earlier) if place and place_entries(place)]
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
            "purposes": unique_in_order(
                [*(t["purpose"] for t in all_tables), *(p["purpose"] for p in held)]
            ),
            "categories": unique_in_order(
                [
                    *(c for t in all_tables for c in t["categories"]),
                    *(PLACE_CATEGORIES_SV[p["system"]] for p in held),
                ]
            ),
            "legal_bases": unique_in_order(
                [*(t["legal_basis"] for t in all_tables), *(p["legal_basis"] for p in held)]
            ),
            "retention": [{"table": t["label"], "rule": t["retention"]} for t in all_tables]
            + [{"table": p["label"], "rule": ARCHIVED_SV} for p in held],
            "recipients": answer_recipients(all_tables, disclosures, self._catalog.recipients),
            "sources": unique_in_order(t["source"] for t in all_tables),
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
        self._store.write(zip_ref, csv_zip(tables))
        searched = [
            self._catalog.systems[c.system].title
            for c in sorted(request.collections, key=lambda c: c.system)
            if c.system in self._catalog.systems
        ]
        self._store.write(html_ref, portable_cover(request.case_number, tables, searched))
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
