"""The generic SQL connector: finds and changes a subject's rows in a connected system.

Nothing here knows a table by name. Which rows belong to the subject, which columns are read
and in which order they come all follow from the `SystemDecl`, so a real system is added with
a YAML file. Only declared columns are ever selected: a column nobody has classified must not
leak into an extract.

Here: reading a subject's rows for an extract, and what the writes share; the writes are in
systems/writes.py, the recipients of Art. 19 in systems/recipients.py and erasure in
systems/erasure.py. The writes (rectification, restriction, suppression, erasure) run in one
transaction per call and are idempotent: a second run with the same arguments changes nothing
more, so an activity may retry freely. They never touch a row that also belongs to someone else
(a contract with two holders, a campaign sent to many): such a row is not the subject's alone to
change.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from time import monotonic
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
# Primary keys per IN (...) when writing: well under SQLite's limit of bound parameters.
_KEY_CHUNK = 500


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
    require_canonical(subject_id, "collect_subject")
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            async with engine.connect() as conn:
                tables = await reflect(conn, system)
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


# Reflected tables, per database and system declaration, for this long: reflecting a system's
# schema cost a worker about a tenth of its CPU time when it ran on every collection and write.
# A schema changed under a running worker is seen within this time (until then a query on a
# dropped column fails as a database error, and its retry reflects again).
REFLECTED_FOR_SECONDS = 60.0
_reflected: weakref.WeakKeyDictionary[
    sa.Engine, dict[str, tuple[float, SystemDecl, Mapping[str, sa.Table]]]
] = weakref.WeakKeyDictionary()


async def reflect(conn: AsyncConnection, system: SystemDecl) -> Mapping[str, sa.Table]:
    """The declared tables as the database has them; a missing table or column fails loudly.
    Kept for REFLECTED_FOR_SECONDS per database and declaration."""
    per_system = _reflected.setdefault(conn.engine.sync_engine, {})
    cached = per_system.get(system.name)
    now = monotonic()
    if cached is not None and cached[1] is system and now - cached[0] < REFLECTED_FOR_SECONDS:
        return cached[2]
    tables = await _reflect_now(conn, system)
    per_system[system.name] = (now, system, tables)
    return tables


async def _reflect_now(conn: AsyncConnection, system: SystemDecl) -> Mapping[str, sa.Table]:

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
        .where(belongs_to_subject(system, tables, name, subject_id))
        .order_by(*order)
    )


def belongs_to_subject(
    system: SystemDecl, tables: Mapping[str, sa.Table], name: str, subject_id: str
) -> sa.ColumnElement[bool]:
    """The WHERE clause: direct on the identity column, or IN the parent's linked keys."""
    # Comparing with a Python value makes a bound parameter; the number is never in the SQL.
    return _linked(system, tables, name, lambda identity: identity == subject_id)


def belongs_to_others(
    system: SystemDecl, tables: Mapping[str, sa.Table], name: str, subject_id: str
) -> sa.ColumnElement[bool]:
    """Rows linked to any record but the subject's, also one without an identity number."""
    return _linked(
        system, tables, name, lambda identity: sa.or_(identity.is_(None), identity != subject_id)
    )


def _linked(
    system: SystemDecl,
    tables: Mapping[str, sa.Table],
    name: str,
    owner: Callable[[sa.Column[Any]], sa.ColumnElement[bool]],
) -> sa.ColumnElement[bool]:
    link = system.tables[name].link
    table = tables[name]
    if link.subject_column is not None:
        return owner(table.c[link.subject_column])
    assert link.column is not None and link.parent is not None and link.parent_column is not None
    parent = tables[link.parent]
    parent_keys = sa.select(parent.c[link.parent_column]).where(
        _linked(system, tables, link.parent, owner)
    )
    return table.c[link.column].in_(parent_keys)


def subject_only(
    system: SystemDecl, tables: Mapping[str, sa.Table], name: str, subject_id: str
) -> sa.ColumnElement[bool]:
    """The subject's rows that belong to nobody else: the only ones a write may change."""
    key = tables[name].c[system.tables[name].primary_key]
    others = sa.select(key).where(belongs_to_others(system, tables, name, subject_id))
    return sa.and_(belongs_to_subject(system, tables, name, subject_id), key.not_in(others))


def _dumps(value: object) -> str:
    return _ENCODER.encode(value)


def _json_value(value: object) -> object:
    """JSON for the column types a database hands back that `json` does not know."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        # A string keeps the exact amount; a float would turn 0.10 into 0.1000000000000000055...
        return str(value)
    # The type, never the value: this message may end up in a log.
    raise TypeError(f"cannot write a value of type {type(value).__name__} to the extract")


# One encoder for every row: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_json_value)


def chunks(keys: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(keys), _KEY_CHUNK):
        yield keys[start : start + _KEY_CHUNK]


def require_canonical(subject_id: str, where: str) -> None:
    if not _CANONICAL.fullmatch(subject_id):
        # The number itself stays out of the message: exceptions end up in logs and history.
        raise ValueError(f"{where}: expected a canonical 12-digit identity number")


def log_write(what: str, system: SystemDecl, counts: Mapping[str, int]) -> None:
    logger.info(what, extra={"system": system.name, "rows": dict(counts)})
