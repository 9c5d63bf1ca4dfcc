"""Erasure (Art. 17) under retention rules: plan, execute, and erase kept parts when due."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.store import ExtractStore
from dsr.models import (
    EraseDueInput,
    EraseDueResult,
    ErasurePlanResult,
    ErasureSummary,
    ExecuteErasureInput,
    PlanErasureInput,
    SystemWriteResult,
)
from systems.catalog import Catalog
from systems.connector import (
    ErasurePlanItem,
    erase_rows,
    plan_erasure,
    set_restriction,
    subject_recipients,
)


class ErasureActivities:
    def __init__(
        self, catalog: Catalog, engines: Mapping[str, AsyncEngine], store: ExtractStore
    ) -> None:
        self._catalog = catalog
        self._engines = engines
        self._store = store

    @activity.defn
    async def plan_erasure(self, request: PlanErasureInput) -> ErasurePlanResult:
        """The plan for every system: the row keys go to the store, a summary to history."""
        items: list[ErasurePlanItem] = []
        for name in self._catalog.names():
            items += await plan_erasure(
                self._engines[name],
                self._catalog.systems[name],
                request.subject_id,
                request.today,
            )
        ref = self._store.ref(request.case_number, 1, "erasure-plan.json")
        self._store.write(ref, json.dumps([_item_json(i) for i in items], ensure_ascii=False))
        return ErasurePlanResult(ref=ref, items=_summarise(items))

    @activity.defn
    async def execute_erasure(self, request: ExecuteErasureInput) -> SystemWriteResult:
        """Erase what the approved plan erases in one system; restrict what it keeps.

        Works from the stored plan, so exactly the approved rows go; idempotent, since rows
        already erased are skipped by the connector.
        """
        system = self._catalog.systems[request.system]
        engine = self._engines[request.system]
        plan = json.loads(self._store.path(request.plan_ref).read_text())
        # Art. 19: who received data from this system, read before the rows that say so go.
        recipients = await subject_recipients(engine, system, request.subject_id)
        erased: dict[str, int] = {}
        keeps = False
        for item in (i for i in plan if i["system"] == request.system):
            if item["action"] == "keep":
                keeps = True
                continue
            changed = await erase_rows(engine, system, item["table"], item["keys"], item["then"])
            erased[item["table"]] = erased.get(item["table"], 0) + changed
        if keeps:
            # Art. 17(3) + 18: what must be kept is only stored, nothing else, until it goes.
            restricted = await set_restriction(engine, system, request.subject_id, True)
            for table, rows in restricted.tables.items():
                erased[f"restricted:{table}"] = rows
        activity.logger.info(
            "erasure executed",
            extra={"case_number": request.case_number, "system": request.system},
        )
        erased_now = any(rows for table, rows in erased.items() if ":" not in table)
        return SystemWriteResult(
            system=request.system, tables=erased, recipients=recipients if erased_now else []
        )

    @activity.defn
    async def erase_due(self, request: EraseDueInput) -> EraseDueResult:
        """Erase the rows the approved plan kept whose time has come (as of the workflow's
        `today`). Only those rows: anything the subject's records gained since the approval
        was never approved for erasure and is left alone."""
        system = self._catalog.systems[request.system]
        engine = self._engines[request.system]
        approved: dict[str, set[int]] = {}
        stored = (
            json.loads(self._store.path(request.plan_ref).read_text()) if request.plan_ref else []
        )
        for item in stored:
            if item["system"] == request.system and item["action"] == "keep":
                approved.setdefault(item["table"], set()).update(item["keys"])
        if not approved:
            return EraseDueResult(system=request.system, erased={}, next_due=None)
        erased: dict[str, int] = {}
        dated: list[date] = []
        for item in await plan_erasure(engine, system, request.subject_id, request.today):
            keys = [key for key in item.keys if key in approved.get(item.table, ())]
            if not keys:
                continue
            if item.action != "keep":
                changed = await erase_rows(engine, system, item.table, keys, item.then)
                erased[item.table] = erased.get(item.table, 0) + changed
            elif item.keep_until is not None:
                dated.append(item.keep_until)
        next_due = min(dated) + timedelta(days=1) if dated else None
        return EraseDueResult(system=request.system, erased=erased, next_due=next_due)


def _item_json(item: ErasurePlanItem) -> dict[str, Any]:
    return {
        "system": item.system,
        "table": item.table,
        "action": item.action,
        "then": item.then,
        "keys": list(item.keys),
        "keep_until": item.keep_until.isoformat() if item.keep_until else None,
    }


def _summarise(items: list[ErasurePlanItem]) -> list[ErasureSummary]:
    """One line per system, table and action: what the subject and the approver read."""
    grouped: dict[tuple[str, str, str], list[ErasurePlanItem]] = {}
    for item in items:
        grouped.setdefault((item.system, item.table, item.action), []).append(item)
    summaries = []
    for (system, table, action), group in grouped.items():
        dates: list[date] = [i.keep_until for i in group if i.keep_until is not None]
        summaries.append(
            ErasureSummary(
                system=system,
                table=table,
                label=group[0].label,
                action=action,
                rows=sum(len(i.keys) for i in group),
                keep_from=min(dates) if dates else None,
                keep_until=max(dates) if dates else None,
                reason="; ".join(dict.fromkeys(i.reason for i in group)),
            )
        )
    return summaries
