"""Erasure (Art. 17) in a connected system, under the document management plan's disposal
rules (infra/disposal.py): the plan of what goes now and what is kept until when, and its
execution, in the order the tables' references allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from systems.catalog import SystemDecl
from systems.connector import (
    SystemSchemaError,
    belongs_to_others,
    belongs_to_subject,
    chunks,
    log_write,
    reflect,
    require_canonical,
)
from systems.disposal import (
    ARCHIVE,
    ERASE,
    KEPT_FOR_GOOD,
    DocumentPlan,
    Hold,
    Period,
    hold_under,
    reason_erased_sv,
    reason_kept_sv,
)
from systems.tables import RowReference, TableDecl

# "suppress": reduce a row that records an objection to direct marketing to its suppression
# record (see `SuppressionRecordDecl`) instead of deleting or anonymising it.
ErasureAction = Literal["delete", "anonymise", "suppress"]


@dataclass(frozen=True)
class ErasurePlanItem:
    """Rows of one table that share a fate: erased now, or kept until a date, and why.

    ``action`` is what happens now. A ``keep`` item carries ``keep_until``, the last day the rows
    must be kept (they may go the day after), or None when no date can be given: kept while a
    contract runs, as an official document that no disposal rule covers, or because the rows
    also belong to someone else; ``reason`` says which, in Swedish, naming the disposal decision
    and the law. ``then`` is what happens to the rows when they may go: the table's declared
    action, ``suppress`` for rows that record an objection to direct marketing in a table with
    a suppression record, or ``keep`` for a table no disposal rule covers (never erased). A
    ``suppress`` item (nothing keeps the rows, the record stays for good) has no ``keep_until``.
    ``disposal`` is the disposal rule's reference (gallringsbeslut), None for a table under none.
    """

    system: str
    table: str
    label: str
    action: Literal["delete", "anonymise", "suppress", "keep"]
    keys: tuple[int, ...]
    keep_until: date | None
    then: ErasureAction | Literal["keep"]
    reason: str
    # What keeps the rows: "accounting", "years" (dated), "running_contract", "archive" (no
    # disposal rule), "shared" (undated); empty for rows erased now.
    rule: str = ""
    disposal: str | None = None


_SHARED_SV = (
    "Uppgiften gäller också någon annan, till exempel den du delar avtalet med, och tas "
    "därför inte bort; din koppling till den tas bort (art. 17 gäller bara dina egna "
    "uppgifter)."
)
_ERASED_NOW = {
    "delete": "De raderas nu (art. 17.1 dataskyddsförordningen).",
    "anonymise": "Personuppgifterna avidentifieras nu (art. 17.1 dataskyddsförordningen).",
    # {kept}: the labels of what the suppression record keeps, from the declaration.
    "suppress": "Du har invänt mot direktmarknadsföring. För att invändningen ska fortsätta gälla "
    "och du inte ska få marknadsföring igen sparas ditt person- eller samordningsnummer med en "
    "spärr mot marknadsföring (art. 21.3 dataskyddsförordningen). Kvar i posten finns bara: "
    "{kept}. Övriga uppgifter i posten raderas nu (art. 17.1 dataskyddsförordningen).",
}
# A row that also belongs to someone else is kept for them, whatever its disposal rule says.
_SHARED = Hold(ARCHIVE + 1, rule="shared")


def erasure_order(system: SystemDecl) -> list[str]:
    """The system's tables, rows that refer to others first, so erasing in this order keeps
    foreign keys intact. `plan_erasure` lists its items in this order."""
    return system.erasure_order()


async def plan_erasure(
    engine: AsyncEngine,
    system: SystemDecl,
    subject_id: str,
    today: date,
    *,
    plan: DocumentPlan,
    financial_year_first_month: int = 1,
) -> list[ErasurePlanItem]:
    """What erasure of the subject means in `system` today: per table, erase now or keep.

    Each row is judged by its table's disposal rule in the document plan (systems.disposal): every
    period of the rule must have passed; a table under no rule is kept for good. A row is then
    kept at least as long as the rows that refer to it or are found through it, so erasing
    never breaks a foreign key or leaves a kept row that can no longer be traced to the subject.
    A row that also belongs to someone else is kept for them. Items come in `erasure_order`;
    within a table, the rows erased now first, then the kept ones by date.
    """
    require_canonical(subject_id, "plan_erasure")
    references = system.row_references()
    async with engine.connect() as conn:
        tables = await reflect(conn, system)
        rows: dict[str, dict[int, Mapping[str, Any]]] = {}
        shared: dict[str, set[int]] = {}
        for name in system.tables:
            rows[name], shared[name] = await _erasure_rows(
                conn, system, tables, name, subject_id, _columns_needed(system, name, references)
            )
    holds = {
        name: {
            key: _SHARED
            if key in shared[name]
            else _row_hold(plan, system.tables[name], row, rows, today, financial_year_first_month)
            for key, row in rows[name].items()
        }
        for name in system.tables
    }
    _propagate(system, references, rows, holds)
    return [
        item
        for name in erasure_order(system)
        for item in _plan_items(system, plan, name, holds[name], rows[name])
    ]


async def erase_rows(
    engine: AsyncEngine,
    system: SystemDecl,
    table: str,
    keys: Sequence[int],
    action: ErasureAction,
) -> int:
    """Delete, anonymise or suppress the rows of `table` with these primary keys; return rows
    changed.

    `action` must be the table's declared one or, in a table with a suppression record,
    ``suppress`` (a plan item's ``then``). In such a table the objection as it stands now
    decides, whatever the plan saw: a row that records one is reduced to its suppression record,
    any other gets the declared action. So an objection made after the plan still outlives the
    erasure. Rows already gone, anonymised or suppressed are not counted, so running it twice
    changes nothing more. A table that no disposal rule covers is never erased (ValueError).
    """
    if table not in system.tables:
        raise ValueError(f"erase_rows: {table!r} is not a declared table of {system.name!r}")
    declared = system.tables[table]
    erasure = declared.erasure
    if erasure is None:
        raise ValueError(
            f"erase_rows: {system.name}.{table} is under no disposal rule and is never erased"
        )
    record = erasure.suppression_record
    if action != erasure.action and (action != "suppress" or record is None):
        allowed = erasure.action if record is None else f"{erasure.action} or suppress"
        raise ValueError(
            f"erase_rows: {system.name}.{table} is declared to {allowed}, not {action}"
        )
    changed = 0
    async with engine.begin() as conn:
        reflected = (await reflect(conn, system))[table]
        key = reflected.c[declared.primary_key]
        for chunk in chunks(sorted(set(keys))):
            chosen: sa.ColumnElement[bool] = key.in_(chunk)
            if record is not None:
                objecting = reflected.c[record.when]
                changed += await _replace(
                    conn, reflected, sa.and_(chosen, objecting.is_(True)), record.anonymise
                )
                chosen = sa.and_(chosen, objecting.is_not(True))
            if erasure.action == "delete":
                changed += (await conn.execute(sa.delete(reflected).where(chosen))).rowcount
            else:
                changed += await _replace(conn, reflected, chosen, erasure.anonymise)
    log_write("erased", system, {table: changed} if changed else {})
    return changed


async def _replace(
    conn: AsyncConnection,
    table: sa.Table,
    where: sa.ColumnElement[bool],
    replacements: Mapping[str, str | None],
) -> int:
    """Set the replacement values in the rows `where` selects that do not have them yet."""
    stale = sa.or_(
        *(table.c[column].is_distinct_from(value) for column, value in replacements.items())
    )
    result = await conn.execute(sa.update(table).where(where, stale).values(dict(replacements)))
    return result.rowcount


def _columns_needed(system: SystemDecl, name: str, references: Sequence[RowReference]) -> list[str]:
    """The columns of table `name` the plan reads: dates for the rules, keys for references."""
    declared = system.tables[name]
    needed = [declared.primary_key]
    for table in system.tables.values():
        if table.erasure is None:
            continue
        for period in table.erasure.dates:
            for dated in table.erasure.date_columns(period):
                owner, _, column = dated.rpartition(".")
                if (owner or table.name) == name:
                    needed.append(column)
    for reference in references:
        if reference.table == name:
            needed.append(reference.column)
        if reference.target == name:
            needed.append(reference.target_column)
    link = declared.link
    if link.column is not None and link.parent is not None and link.parent_column is not None:
        needed.append(link.column)
    for table in system.tables.values():
        if table.link.parent == name and table.link.parent_column is not None:
            needed.append(table.link.parent_column)
    if declared.erasure is not None and declared.erasure.suppression_record is not None:
        needed.append(declared.erasure.suppression_record.when)
    return list(dict.fromkeys(needed))


async def _erasure_rows(
    conn: AsyncConnection,
    system: SystemDecl,
    tables: Mapping[str, sa.Table],
    name: str,
    subject_id: str,
    columns: Sequence[str],
) -> tuple[dict[int, Mapping[str, Any]], set[int]]:
    table = tables[name]
    declared = system.tables[name]
    key = table.c[declared.primary_key]
    mine = belongs_to_subject(system, tables, name, subject_id)
    result = await conn.execute(sa.select(*(table.c[c] for c in columns)).where(mine))
    rows: dict[int, Mapping[str, Any]] = {
        row[declared.primary_key]: dict(row) for row in result.mappings()
    }
    if declared.link.subject_column is not None:
        return rows, set()  # a row with the subject's own number is nobody else's
    others = sa.select(key).where(mine, belongs_to_others(system, tables, name, subject_id))
    return rows, set((await conn.execute(others)).scalars())


def _row_hold(
    plan: DocumentPlan,
    table: TableDecl,
    row: Mapping[str, Any],
    rows: Mapping[str, Mapping[int, Mapping[str, Any]]],
    today: date,
    financial_year_first_month: int,
) -> Hold:
    """How long the table's disposal rule keeps the row, its periods counted from the declared
    dates: the row's own column, or the subject's rows of another table."""
    erasure = table.erasure
    if erasure is None or erasure.disposal is None:
        return KEPT_FOR_GOOD
    dates: dict[Period, list[date | None]] = {}
    for period in erasure.dates:
        for reference in erasure.date_columns(period):
            owner, _, column = reference.rpartition(".")
            if owner and owner != table.name:
                values = [_day(other[column]) for other in rows[owner].values()]
            else:
                values = [_day(row[column])]
            dates.setdefault(period, []).extend(values)
    return hold_under(
        plan.rule(erasure.disposal),
        dates,
        today,
        financial_year_first_month=financial_year_first_month,
    )


def _propagate(
    system: SystemDecl,
    references: Sequence[RowReference],
    rows: Mapping[str, Mapping[int, Mapping[str, Any]]],
    holds: dict[str, dict[int, Hold]],
) -> None:
    """Raise holds until each row stays as long as the rows that depend on it.

    Two dependencies: a row referred to (foreign key) must outlive the rows referring to it, and
    a row that links the subject to a table (a contract holder) must outlive the rows found
    through it, or they could no longer be traced to the subject when their time comes. A row
    kept only because it is shared passes nothing on: the subject's link to it may go.
    """
    edges: list[tuple[str, str, str, str]] = [
        (r.table, r.column, r.target, r.target_column) for r in references
    ]
    for name, table in system.tables.items():
        link = table.link
        if link.parent is not None and link.column is not None and link.parent_column is not None:
            edges.append((name, link.column, link.parent, link.parent_column))
    changed = True
    while changed:
        changed = False
        for source, column, target, target_column in edges:
            needed: dict[Any, Hold] = {}
            for key, row in rows[source].items():
                hold = holds[source][key]
                if hold.rank in (ERASE, _SHARED.rank):
                    continue
                value = row[column]
                if value not in needed or hold.order > needed[value].order:
                    needed[value] = hold
            for key, row in rows[target].items():
                wanted = needed.get(row[target_column])
                if wanted is not None and wanted.order > holds[target][key].order:
                    holds[target][key] = wanted
                    changed = True


def _plan_items(
    system: SystemDecl,
    plan: DocumentPlan,
    name: str,
    holds: Mapping[int, Hold],
    rows: Mapping[int, Mapping[str, Any]],
) -> list[ErasurePlanItem]:
    declared = system.tables[name]
    erasure = declared.erasure
    record = erasure.suppression_record if erasure is not None else None
    reference = erasure.disposal if erasure is not None else None
    groups: dict[tuple[int, date, str, ErasureAction | Literal["keep"]], list[int]] = {}
    for key, hold in holds.items():
        # A kept row stays as it is (the disposal rule wins); `then` tells its fate later.
        then: ErasureAction | Literal["keep"] = erasure.action if erasure is not None else "keep"
        if record is not None and bool(rows[key][record.when]):
            then = "suppress"
        groups.setdefault((*hold.order, hold.rule, then), []).append(key)
    items = []
    for (rank, _, rule, then), keys in sorted(groups.items()):
        hold = holds[keys[0]]
        if rank == ERASE:
            assert reference is not None and then != "keep"
            reason = f"{reason_erased_sv(plan, reference)} {_erased_now(declared, then)}"
        elif rule == "shared":
            reason = _SHARED_SV
        else:
            # Kept: by the rule's period, or because the table is under no rule at all.
            reason = reason_kept_sv(plan, reference, hold)
        items.append(
            ErasurePlanItem(
                system=system.name,
                table=name,
                label=declared.label,
                action=then if rank == ERASE else "keep",
                keys=tuple(sorted(keys)),
                keep_until=hold.until,
                then=then,
                reason=reason,
                rule=rule,
                disposal=reference,
            )
        )
    return items


def _erased_now(declared: TableDecl, then: ErasureAction) -> str:
    erasure = declared.erasure
    record = erasure.suppression_record if erasure is not None else None
    if then != "suppress" or record is None:
        return _ERASED_NOW[then]
    # What the subject can find in an access answer later, by the same labels.
    kept = [
        column.label
        for name, column in declared.columns.items()
        if name not in record.anonymise
        and name != declared.primary_key
        and column.category != "technical"
    ]
    return _ERASED_NOW["suppress"].format(kept="; ".join(kept))


def _day(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    # The type, never the value: this message may end up in a log.
    raise SystemSchemaError(f"expected a date for a disposal rule, got {type(value).__name__}")
