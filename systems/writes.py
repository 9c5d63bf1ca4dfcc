"""Writes in a connected system: rectification (Art. 16), restriction (Art. 18) and suppression
of direct marketing (Art. 21(3)); each in one transaction, idempotent, and never on a row that
also belongs to someone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from systems.catalog import SystemDecl
from systems.connector import (
    belongs_to_subject,
    chunks,
    log_write,
    reflect,
    require_canonical,
    subject_only,
)
from systems.fields import validate_rectification

# --- Writes: rectification, restriction, suppression (Art. 16, 18, 21) ---------------------


@dataclass(frozen=True)
class WriteSummary:
    """Rows changed per table by one write; only tables where something changed."""

    system: str
    tables: dict[str, int]


async def rectify_subject(
    engine: AsyncEngine, system: SystemDecl, subject_id: str, changes: Mapping[str, str]
) -> WriteSummary:
    """Set each logical field in `changes` in every column declared with it (Art. 16).

    Every value is validated first, so a bad one raises ValueError and nothing is written.
    Only the subject's own rows change, and only cells that hold a value: a system that keeps
    a field empty for the subject (an SMS contact without e-mail) does not start collecting it.
    Fields the system does not hold are ignored.
    """
    require_canonical(subject_id, "rectify_subject")
    values = {field: validate_rectification(field, value) for field, value in changes.items()}
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        tables = await reflect(conn, system)
        for name, declared in system.tables.items():
            columns = {
                column: values[decl.field]
                for column, decl in declared.columns.items()
                if decl.field is not None and decl.field in values
            }
            if not columns:
                continue
            table = tables[name]
            key = table.c[declared.primary_key]
            stale = sa.or_(
                *(
                    sa.and_(table.c[column].is_not(None), table.c[column] != value)
                    for column, value in columns.items()
                )
            )
            selected = sa.select(key).where(subject_only(system, tables, name, subject_id), stale)
            keys = list((await conn.execute(selected)).scalars())
            for column, value in columns.items():
                for chunk in chunks(keys):
                    await conn.execute(
                        sa.update(table)
                        .where(key.in_(chunk), table.c[column].is_not(None))
                        .values({column: value})
                    )
            if keys:
                counts[name] = len(keys)
    log_write("rectified", system, counts)
    return WriteSummary(system=system.name, tables=counts)


async def fields_held(
    engine: AsyncEngine, system: SystemDecl, subject_id: str
) -> dict[str, list[str]]:
    """Logical field -> the distinct values the system holds for the subject, sorted.

    These are the values a rectification would replace (the subject's own rows, cells with a
    value), so the handler sees what is there today. Fields without a value are left out.
    """
    require_canonical(subject_id, "fields_held")
    held: dict[str, set[str]] = {}
    async with engine.connect() as conn:
        tables = await reflect(conn, system)
        for name, declared in system.tables.items():
            table = tables[name]
            for column, decl in declared.columns.items():
                if decl.field is None:
                    continue
                query = (
                    sa.select(table.c[column])
                    .distinct()
                    .where(
                        subject_only(system, tables, name, subject_id),
                        table.c[column].is_not(None),
                    )
                )
                found = {str(value) for value in (await conn.execute(query)).scalars()}
                if found:
                    held.setdefault(decl.field, set()).update(found)
    return {field: sorted(values) for field, values in sorted(held.items())}


async def set_restriction(
    engine: AsyncEngine, system: SystemDecl, subject_id: str, restricted: bool
) -> WriteSummary:
    """Set (or lift) the Art. 18 flag on the subject's record; nothing if none is declared."""
    require_canonical(subject_id, "set_restriction")
    if system.restriction is None:
        return WriteSummary(system=system.name, tables={})
    flag = system.restriction
    async with engine.begin() as conn:
        tables = await reflect(conn, system)
        changed = await _set_flag(
            conn, system, tables, flag.table, flag.column, subject_id, restricted
        )
    counts = {flag.table: changed} if changed else {}
    log_write("restriction set" if restricted else "restriction lifted", system, counts)
    return WriteSummary(system=system.name, tables=counts)


async def is_restricted(engine: AsyncEngine, system: SystemDecl, subject_id: str) -> bool:
    """Whether processing of the subject's data in `system` is restricted (Art. 18)."""
    require_canonical(subject_id, "is_restricted")
    if system.restriction is None:
        return False
    flag = system.restriction
    async with engine.connect() as conn:
        tables = await reflect(conn, system)
        table = tables[flag.table]
        query = sa.select(
            sa.exists().where(
                belongs_to_subject(system, tables, flag.table, subject_id),
                table.c[flag.column].is_(True),
            )
        )
        return bool((await conn.execute(query)).scalar())


async def suppress_marketing(
    engine: AsyncEngine, system: SystemDecl, subject_id: str, *, now: datetime
) -> WriteSummary:
    """Record the objection to direct marketing (Art. 21(2)) and withdraw open consents.

    `now` must be timezone-aware; a timestamp column without a time zone gets it in UTC.
    """
    require_canonical(subject_id, "suppress_marketing")
    if now.tzinfo is None:
        raise ValueError("suppress_marketing: now must be timezone-aware")
    if system.suppression is None:
        return WriteSummary(system=system.name, tables={})
    suppression = system.suppression
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        tables = await reflect(conn, system)
        changed = await _set_flag(
            conn, system, tables, suppression.table, suppression.column, subject_id, True
        )
        if changed:
            counts[suppression.table] = changed
        if suppression.consents is not None:
            name = suppression.consents.table
            table = tables[name]
            withdrawn = table.c[suppression.consents.withdrawn_column]
            result = await conn.execute(
                sa.update(table)
                .where(subject_only(system, tables, name, subject_id), withdrawn.is_(None))
                .values({withdrawn.name: _timestamp_for(withdrawn, now)})
            )
            if result.rowcount:
                counts[name] = counts.get(name, 0) + result.rowcount
    log_write("marketing suppressed", system, counts)
    return WriteSummary(system=system.name, tables=counts)


async def has_protected_identity(engine: AsyncEngine, system: SystemDecl, subject_id: str) -> bool:
    """Whether the system records the subject as having protected personal data (skyddade
    personuppgifter); False where the system declares no such flag."""
    require_canonical(subject_id, "has_protected_identity")
    flag = system.protected_identity
    if flag is None:
        return False
    async with engine.connect() as conn:
        tables = await reflect(conn, system)
        query = sa.select(
            sa.exists().where(
                belongs_to_subject(system, tables, flag.table, subject_id),
                tables[flag.table].c[flag.column].is_(True),
            )
        )
        return bool((await conn.execute(query)).scalar())


async def _set_flag(
    conn: AsyncConnection,
    system: SystemDecl,
    tables: Mapping[str, sa.Table],
    name: str,
    column: str,
    subject_id: str,
    value: bool,
) -> int:
    flag = tables[name].c[column]
    result = await conn.execute(
        sa.update(tables[name])
        .where(belongs_to_subject(system, tables, name, subject_id), flag.is_distinct_from(value))
        .values({column: value})
    )
    return result.rowcount


def _timestamp_for(column: sa.Column[Any], moment: datetime) -> datetime:
    if isinstance(column.type, sa.DateTime) and not column.type.timezone:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment
