"""Erasure (Art. 17) under retention rules: plan, execute, and erase kept parts when due."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.store import ExtractStore
from contract.case import ErasureSummary
from contract.erasure import (
    CheckErasurePlanInput,
    EraseDueInput,
    EraseDueResult,
    ErasurePlanCheck,
    ErasurePlanResult,
    ExecuteErasureInput,
    PlanErasureInput,
)
from contract.steps import SystemWriteResult
from systems.catalog import Catalog, SystemDecl
from systems.erasure import ErasurePlanItem, erase_rows, plan_erasure
from systems.recipients import recipients_of_rows, subject_recipients
from systems.writes import set_restriction


class ErasureActivities:
    def __init__(
        self,
        catalog: Catalog,
        engines: Mapping[str, AsyncEngine],
        store: ExtractStore,
        *,
        financial_year_first_month: int = 1,
    ) -> None:
        self._catalog = catalog
        self._engines = engines
        self._store = store
        self._financial_year = financial_year_first_month

    async def _plan(
        self, engine: AsyncEngine, system: SystemDecl, subject_id: str, today: date
    ) -> list[ErasurePlanItem]:
        """The erasure plan of one system under the document plan's disposal rules, as of
        `today` (the workflow's day, so a retry judges the same day)."""
        return await plan_erasure(
            engine,
            system,
            subject_id,
            today,
            plan=self._catalog.plan,
            financial_year_first_month=self._financial_year,
        )

    @activity.defn
    async def plan_erasure(self, request: PlanErasureInput) -> ErasurePlanResult:
        """The plan for every system: the row keys go to the store, a summary to history.

        Each item also names who received exactly those rows (Art. 19), read now, while the
        rows that say so still exist: they are told when the rows go, now or years later, and
        a retry after the rows went still names them.
        """
        stored: list[dict[str, Any]] = []
        items: list[ErasurePlanItem] = []
        for name in self._catalog.names():
            engine, system = self._engines[name], self._catalog.systems[name]
            for item in await self._plan(engine, system, request.subject_id, request.today):
                items.append(item)
                told = await recipients_of_rows(engine, system, item.table, item.keys)
                stored.append(
                    {
                        **_item_json(item),
                        "recipients": list(told.named),
                        "categories": list(told.categories),
                    }
                )
        ref = self._store.ref(request.case_number, 1, "erasure-plan.json")
        self._store.write(ref, json.dumps(stored, ensure_ascii=False))
        return ErasurePlanResult(ref=ref, items=_summarise(items))

    @activity.defn
    async def execute_erasure(self, request: ExecuteErasureInput) -> SystemWriteResult:
        """Erase what the approved plan erases in one system; restrict what it keeps.

        Works from the stored plan, so exactly the approved rows go; idempotent, since rows
        already erased are skipped by the connector.
        """
        system = self._catalog.systems[request.system]
        engine = self._engines[request.system]
        plan = json.loads(self._store.read_text(request.plan_ref))
        mine = [item for item in plan if item["system"] == request.system]
        # Art. 19: who received the rows this plan erases, as the plan recorded them, so a
        # retry after the rows went names them too. Plans stored before it did: everyone who
        # received data from this system, read before it goes, if anything goes.
        recorded = all("recipients" in item for item in mine)
        recipients: set[str] = {
            name for item in mine if item["action"] != "keep" for name in item.get("recipients", ())
        }
        categories = [
            category
            for item in mine
            if item["action"] != "keep"
            for category in item.get("categories", ())
        ]
        if not recorded:
            everyone = await subject_recipients(engine, system, request.subject_id)
            recipients.update(everyone.named)
            categories += everyone.categories
        erased: dict[str, int] = {}
        keeps = any(item["action"] == "keep" for item in mine)
        done: list[str] = []
        blocked: str | None = None
        for item in mine:
            if item["action"] == "keep":
                continue
            try:
                changed = await erase_rows(
                    engine, system, item["table"], item["keys"], item["then"]
                )
            except IntegrityError:
                # A row the plan did not know of refers to one it erases (a reference the
                # declarations miss): retrying cannot help, a handler must look and plan again.
                # What went before it stands and is reported; the database's message stays
                # out: it may quote values.
                blocked = (
                    f"{request.system}.{item['table']}: another row still refers to rows the "
                    "plan erases; nothing of that table was erased"
                )
                break
            erased[item["table"]] = erased.get(item["table"], 0) + changed
            done.append(item["table"])
        if blocked is not None:
            recipients = {
                name
                for item in mine
                if item["action"] != "keep" and item["table"] in done
                for name in item.get("recipients", ())
            }
            categories = [
                category
                for item in mine
                if item["action"] != "keep" and item["table"] in done
                for category in item.get("categories", ())
            ]
        if keeps:
            # Art. 17(3) + 18: what must be kept is only stored, nothing else, until it goes.
            restricted = await set_restriction(engine, system, request.subject_id, True)
            for table, rows in restricted.tables.items():
                erased[f"restricted:{table}"] = rows
        activity.logger.info(
            "erasure executed",
            extra={"case_number": request.case_number, "system": request.system},
        )
        erased_now = recorded or any(rows for table, rows in erased.items() if ":" not in table)
        return SystemWriteResult(
            system=request.system,
            tables=erased,
            recipients=sorted(recipients) if erased_now else [],
            categories=list(dict.fromkeys(categories)) if erased_now else [],
            blocked=blocked,
            done_tables=done,
        )

    @activity.defn
    async def check_erasure_plan(self, request: CheckErasurePlanInput) -> ErasurePlanCheck:
        """What changed since the plan was made, judged as of `today` (when it is approved).

        The plan is a snapshot; approval can come days later. Executing it then must not erase
        a row that has since come under a retention rule (a new invoice keeps the customer
        record), nor leave out rows that have since become erasable. Either makes the approved
        plan outdated: the case is planned again. Rows that appeared and must be kept are not a
        change: what is kept stays restricted, and a later request covers it.
        """
        stored = json.loads(self._store.read_text(request.plan_ref))
        approved = {
            (item["system"], item["table"], key): item["action"]
            for item in stored
            for key in item["keys"]
        }
        kept_now: dict[str, int] = {}
        new: dict[str, int] = {}
        for name in self._catalog.names():
            engine, system = self._engines[name], self._catalog.systems[name]
            for item in await self._plan(engine, system, request.subject_id, request.today):
                where = f"{item.system}.{item.table}"
                for key in item.keys:
                    before = approved.get((item.system, item.table, key), "keep")
                    if before == "keep" and item.action != "keep":
                        new[where] = new.get(where, 0) + 1
                    elif before != "keep" and item.action != before:
                        kept_now[where] = kept_now.get(where, 0) + 1
        changes = [
            f"{where}: {rows} row(s) approved for erasure must now be treated otherwise"
            for where, rows in sorted(kept_now.items())
        ] + [
            f"{where}: {rows} more row(s) may now be erased" for where, rows in sorted(new.items())
        ]
        return ErasurePlanCheck(changes=changes)

    @activity.defn
    async def erase_due(self, request: EraseDueInput) -> EraseDueResult:
        """Erase the rows the approved plan kept whose time has come (as of the workflow's
        `today`). Only those rows: anything the subject's records gained since the approval
        was never approved for erasure and is left alone.

        Also says what still keeps approved rows without a date: a contract that runs (it may
        end any day: look again later) or no disposal rule (official documents the document
        plan does not let go). Each run judges by the plan as it stands: a disposal rule adopted
        since the approval (`dispose_archived`: the archive has said so) applies at once.
        """
        system = self._catalog.systems[request.system]
        engine = self._engines[request.system]
        approved: dict[str, set[int]] = {}
        stored = json.loads(self._store.read_text(request.plan_ref)) if request.plan_ref else []
        for item in stored:
            if item["system"] == request.system and item["action"] == "keep":
                approved.setdefault(item["table"], set()).update(item["keys"])
        if not approved:
            return EraseDueResult(system=request.system, erased={}, next_due=None)
        # Who received the approved kept rows, as the plan recorded it (Art. 19 when they go).
        received: dict[tuple[str, int], list[str]] = {}
        by_category: dict[tuple[str, int], list[str]] = {}
        for item in stored:
            if item["system"] == request.system and item["action"] == "keep":
                for key in item["keys"]:
                    received[(item["table"], key)] = item.get("recipients", [])
                    by_category[(item["table"], key)] = item.get("categories", [])
        erased: dict[str, int] = {}
        told: set[str] = set()
        categories: set[str] = set()
        dated: list[date] = []
        waiting: set[str] = set()
        plan = await self._plan(engine, system, request.subject_id, request.today)
        for item in plan:
            keys = [key for key in item.keys if key in approved.get(item.table, ())]
            if not keys:
                continue
            if item.action != "keep":
                assert item.then != "keep"  # what may go has an action
                changed = await erase_rows(engine, system, item.table, keys, item.then)
                erased[item.table] = erased.get(item.table, 0) + changed
                told.update(name for key in keys for name in received.get((item.table, key), ()))
                categories.update(c for key in keys for c in by_category.get((item.table, key), ()))
            elif item.keep_until is not None:
                dated.append(item.keep_until)
            elif item.rule == "running_contract":
                # The contract may end any day. Rows under no disposal rule wait for nothing:
                # they are kept for good (arkivlagen 1990:782), not followed by this case.
                waiting.add(item.rule)
        next_due = min(dated) + timedelta(days=1) if dated else None
        return EraseDueResult(
            system=request.system,
            erased=erased,
            next_due=next_due,
            waiting=sorted(waiting),
            recipients=sorted(told),
            categories=sorted(categories),
        )


def _item_json(item: ErasurePlanItem) -> dict[str, Any]:
    return {
        "system": item.system,
        "table": item.table,
        "action": item.action,
        "then": item.then,
        "keys": list(item.keys),
        "keep_until": item.keep_until.isoformat() if item.keep_until else None,
        "rule": item.rule,
        "disposal": item.disposal,
    }


def _summarise(items: list[ErasurePlanItem]) -> list[ErasureSummary]:
    """One line per system, table, action and rule: what the subject and the approver read."""
    grouped: dict[tuple[str, str, str, str], list[ErasurePlanItem]] = {}
    for item in items:
        grouped.setdefault((item.system, item.table, item.action, item.rule), []).append(item)
    summaries = []
    for (system, table, action, rule), group in grouped.items():
        disposal = group[0].disposal
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
                rule=rule,
                disposal=disposal or "",
            )
        )
    return summaries
