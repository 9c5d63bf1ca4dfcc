"""The generic SQL connector: finds a subject's rows in a connected system from its declaration.

Nothing here knows a table by name. Which rows belong to the subject, which columns are read
and in which order they come all follow from the `SystemDecl`, so a real system is added with
a YAML file. Only declared columns are ever selected: a column nobody has classified must not
leak into an extract.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from systems.catalog import SystemDecl

logger = logging.getLogger(__name__)

_CANONICAL = re.compile(r"[0-9]{12}")
# Rows fetched per round trip: large enough to be fast, small enough that a table with
# hundreds of thousands of meter readings never sits in memory at once.
_PARTITION_ROWS = 1000


@dataclass(frozen=True)
class CollectSummary:
    """What one collection found; small enough to travel through workflow history."""

    system: str
    tables: dict[str, int]
    found: bool
    protected_identity: bool


class SystemSchemaError(RuntimeError):
    """The database does not have a table or column that its declaration names."""


async def collect_subject(
    engine: AsyncEngine, system: SystemDecl, subject_id: str, destination: Path
) -> CollectSummary:
    """Write every declared row of the subject in `system` to one JSON file at `destination`.

    The file is written next to `destination` under a temporary name and moved into place at
    the end, so a crash or a retry never leaves a half-written extract behind. Shape::

        {"system": ..., "title": ..., "tables": {table: {"label": ..., "rows": [{...}, ...]}}}
    """
    if not _CANONICAL.fullmatch(subject_id):
        # The number itself stays out of the message: exceptions end up in logs and history.
        raise ValueError("collect_subject: expected a canonical 12-digit identity number")
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            async with engine.connect() as conn:
                tables = await _reflect(conn, system)
                counts, protected = await _write_extract(conn, system, tables, subject_id, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("collected subject data", extra={"system": system.name, "rows": counts})
    return CollectSummary(
        system=system.name,
        tables=counts,
        found=any(counts.values()),
        protected_identity=protected,
    )


async def _reflect(conn: AsyncConnection, system: SystemDecl) -> Mapping[str, sa.Table]:
    """The declared tables as the database has them; a missing table or column fails loudly."""

    def reflect(sync_conn: sa.Connection) -> Mapping[str, sa.Table]:
        existing = set(sa.inspect(sync_conn).get_table_names())
        missing = [name for name in system.tables if name not in existing]
        if missing:
            raise SystemSchemaError(
                f"system {system.name!r}: declared table(s) missing in the database: "
                + ", ".join(missing)
            )
        metadata = sa.MetaData()
        metadata.reflect(sync_conn, only=list(system.tables))
        return metadata.tables

    tables = await conn.run_sync(reflect)
    for name, declared in system.tables.items():
        absent = [column for column in declared.columns if column not in tables[name].c]
        if absent:
            raise SystemSchemaError(
                f"system {system.name!r}: table {name!r} has no column(s) {', '.join(absent)}"
            )
    return tables


async def _write_extract(
    conn: AsyncConnection,
    system: SystemDecl,
    tables: Mapping[str, sa.Table],
    subject_id: str,
    out: IO[str],
) -> tuple[dict[str, int], bool]:
    """Stream the subject's rows table by table into `out`; return counts and the flag."""
    flag = system.protected_identity
    counts: dict[str, int] = {}
    protected = False
    out.write(f'{{"system": {_dumps(system.name)}, "title": {_dumps(system.title)}, "tables": {{')
    for index, (name, declared) in enumerate(system.tables.items()):
        separator = "," if index else ""
        out.write(f'{separator}\n{_dumps(name)}: {{"label": {_dumps(declared.label)}, "rows": [')
        columns = list(declared.columns)
        flag_index = columns.index(flag.column) if flag and flag.table == name else None
        count = 0
        result = await conn.stream(_subject_rows(system, tables, name, subject_id))
        async for partition in result.partitions(_PARTITION_ROWS):
            lines = []
            for row in partition:
                if flag_index is not None and row[flag_index]:
                    protected = True
                lines.append("\n" + _dumps(dict(zip(columns, row, strict=True))))
            out.write(("," if count else "") + ",".join(lines))
            count += len(lines)
        out.write("\n]}")
        counts[name] = count
    out.write("\n}}\n")
    return counts, protected


def _subject_rows(
    system: SystemDecl, tables: Mapping[str, sa.Table], name: str, subject_id: str
) -> sa.Select[Any]:
    declared = system.tables[name]
    table = tables[name]
    order = [table.c[declared.order_by]] if declared.order_by else []
    if declared.order_by != declared.primary_key:
        # The primary key breaks ties, so the same data always gives the same file.
        order.append(table.c[declared.primary_key])
    return (
        sa.select(*(table.c[column] for column in declared.columns))
        .where(_belongs_to_subject(system, tables, name, subject_id))
        .order_by(*order)
    )


def _belongs_to_subject(
    system: SystemDecl, tables: Mapping[str, sa.Table], name: str, subject_id: str
) -> sa.ColumnElement[bool]:
    """The WHERE clause: direct on the identity column, or IN the parent's linked keys."""
    link = system.tables[name].link
    table = tables[name]
    if link.subject_column is not None:
        # Comparing with a Python value makes a bound parameter; the number is never in the SQL.
        return table.c[link.subject_column] == subject_id
    assert link.column is not None and link.parent is not None and link.parent_column is not None
    parent = tables[link.parent]
    parent_keys = sa.select(parent.c[link.parent_column]).where(
        _belongs_to_subject(system, tables, link.parent, subject_id)
    )
    return table.c[link.column].in_(parent_keys)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_value)


def _json_value(value: object) -> object:
    """JSON for the column types a database hands back that `json` does not know."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        # A string keeps the exact amount; a float would turn 0.10 into 0.1000000000000000055...
        return str(value)
    # The type, never the value: this message may end up in a log.
    raise TypeError(f"cannot write a value of type {type(value).__name__} to the extract")
