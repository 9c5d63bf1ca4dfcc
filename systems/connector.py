"""The generic SQL connector: finds and changes a subject's rows in a connected system.

Nothing here knows a table by name. Which rows belong to the subject, which columns are read
and in which order they come all follow from the `SystemDecl`, so a real system is added with
a YAML file. Only declared columns are ever selected: a column nobody has classified must not
leak into an extract.

The writes (rectification, restriction, suppression, erasure) run in one transaction per call
and are idempotent: a second run with the same arguments changes nothing more, so an activity
may retry freely. They never touch a row that also belongs to someone else (a contract with two
holders, a campaign sent to many): such a row is not the subject's alone to change.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from time import monotonic
from typing import IO, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.disposal import (
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
from systems.catalog import (
    RowReference,
    SystemDecl,
    TableDecl,
    validate_rectification,
)

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
    _require_canonical(subject_id, "collect_subject")
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


# Reflected tables, per database and system declaration, for this long: reflecting a system's
# schema cost a worker about a tenth of its CPU time when it ran on every collection and write.
# A schema changed under a running worker is seen within this time (until then a query on a
# dropped column fails as a database error, and its retry reflects again).
REFLECTED_FOR_SECONDS = 60.0
_reflected: weakref.WeakKeyDictionary[
    sa.Engine, dict[str, tuple[float, SystemDecl, Mapping[str, sa.Table]]]
] = weakref.WeakKeyDictionary()


async def _reflect(conn: AsyncConnection, system: SystemDecl) -> Mapping[str, sa.Table]:
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
        .where(_belongs_to_subject(system, tables, name, subject_id))
        .order_by(*order)
    )


def _belongs_to_subject(
    system: SystemDecl, tables: Mapping[str, sa.Table], name: str, subject_id: str
) -> sa.ColumnElement[bool]:
    """The WHERE clause: direct on the identity column, or IN the parent's linked keys."""
    # Comparing with a Python value makes a bound parameter; the number is never in the SQL.
    return _linked(system, tables, name, lambda identity: identity == subject_id)


def _belongs_to_others(
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


def _subject_only(
    system: SystemDecl, tables: Mapping[str, sa.Table], name: str, subject_id: str
) -> sa.ColumnElement[bool]:
    """The subject's rows that belong to nobody else: the only ones a write may change."""
    key = tables[name].c[system.tables[name].primary_key]
    others = sa.select(key).where(_belongs_to_others(system, tables, name, subject_id))
    return sa.and_(_belongs_to_subject(system, tables, name, subject_id), key.not_in(others))


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
    _require_canonical(subject_id, "rectify_subject")
    values = {field: validate_rectification(field, value) for field, value in changes.items()}
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        tables = await _reflect(conn, system)
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
            selected = sa.select(key).where(_subject_only(system, tables, name, subject_id), stale)
            keys = list((await conn.execute(selected)).scalars())
            for column, value in columns.items():
                for chunk in _chunks(keys):
                    await conn.execute(
                        sa.update(table)
                        .where(key.in_(chunk), table.c[column].is_not(None))
                        .values({column: value})
                    )
            if keys:
                counts[name] = len(keys)
    _log_write("rectified", system, counts)
    return WriteSummary(system=system.name, tables=counts)


async def fields_held(
    engine: AsyncEngine, system: SystemDecl, subject_id: str
) -> dict[str, list[str]]:
    """Logical field -> the distinct values the system holds for the subject, sorted.

    These are the values a rectification would replace (the subject's own rows, cells with a
    value), so the handler sees what is there today. Fields without a value are left out.
    """
    _require_canonical(subject_id, "fields_held")
    held: dict[str, set[str]] = {}
    async with engine.connect() as conn:
        tables = await _reflect(conn, system)
        for name, declared in system.tables.items():
            table = tables[name]
            for column, decl in declared.columns.items():
                if decl.field is None:
                    continue
                query = (
                    sa.select(table.c[column])
                    .distinct()
                    .where(
                        _subject_only(system, tables, name, subject_id),
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
    _require_canonical(subject_id, "set_restriction")
    if system.restriction is None:
        return WriteSummary(system=system.name, tables={})
    flag = system.restriction
    async with engine.begin() as conn:
        tables = await _reflect(conn, system)
        changed = await _set_flag(
            conn, system, tables, flag.table, flag.column, subject_id, restricted
        )
    counts = {flag.table: changed} if changed else {}
    _log_write("restriction set" if restricted else "restriction lifted", system, counts)
    return WriteSummary(system=system.name, tables=counts)


async def is_restricted(engine: AsyncEngine, system: SystemDecl, subject_id: str) -> bool:
    """Whether processing of the subject's data in `system` is restricted (Art. 18)."""
    _require_canonical(subject_id, "is_restricted")
    if system.restriction is None:
        return False
    flag = system.restriction
    async with engine.connect() as conn:
        tables = await _reflect(conn, system)
        table = tables[flag.table]
        query = sa.select(
            sa.exists().where(
                _belongs_to_subject(system, tables, flag.table, subject_id),
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
    _require_canonical(subject_id, "suppress_marketing")
    if now.tzinfo is None:
        raise ValueError("suppress_marketing: now must be timezone-aware")
    if system.suppression is None:
        return WriteSummary(system=system.name, tables={})
    suppression = system.suppression
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        tables = await _reflect(conn, system)
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
                .where(_subject_only(system, tables, name, subject_id), withdrawn.is_(None))
                .values({withdrawn.name: _timestamp_for(withdrawn, now)})
            )
            if result.rowcount:
                counts[name] = counts.get(name, 0) + result.rowcount
    _log_write("marketing suppressed", system, counts)
    return WriteSummary(system=system.name, tables=counts)


@dataclass(frozen=True)
class Recipients:
    """Who received a subject's data (Art. 19): by name, with the data categories each
    received, and the recipients known only as a category, whom a handler must tell."""

    named: dict[str, frozenset[str]]
    categories: tuple[str, ...] = ()


async def subject_recipients(
    engine: AsyncEngine,
    system: SystemDecl,
    subject_id: str,
    *,
    tables: Collection[str] | None = None,
) -> Recipients:
    """Everyone the subject's data in `system` went to (Art. 19), with the data categories each
    received (see `TableDecl`), by name in sorted order; only from `tables` if given.

    A table that names the recipient per row (``recipient_column``) gives those names and,
    with ``recipient_categories_column``, what each row says was given; any other table where
    the subject has rows gives its declared recipients: a name from the recipients register, a
    category resolved through its column (the supplier of a metering point), or a category
    that no column resolves, for a handler.
    """
    _require_canonical(subject_id, "subject_recipients")
    found: dict[str, set[str]] = {}
    categories: list[str] = []
    async with engine.connect() as conn:
        reflected = await _reflect(conn, system)
        for name, declared in system.tables.items():
            if tables is not None and name not in tables:
                continue
            table = reflected[name]
            mine = _belongs_to_subject(system, reflected, name, subject_id)
            if declared.recipient_column is not None:
                for recipient, received in await _named_recipients(conn, declared, table, mine):
                    found.setdefault(recipient, set()).update(received)
            elif declared.recipients:
                if not (await conn.execute(sa.select(sa.exists().where(mine)))).scalar():
                    continue
                resolved = await _declared_recipients(conn, system, reflected, name, mine)
                for recipient in resolved.named:
                    found.setdefault(recipient, set()).update(declared.received_categories())
                categories += resolved.categories
    return Recipients(
        named={recipient: frozenset(found[recipient]) for recipient in sorted(found)},
        categories=tuple(dict.fromkeys(categories)),
    )


async def recipients_of_rows(
    engine: AsyncEngine, system: SystemDecl, table: str, keys: Sequence[int]
) -> Recipients:
    """Who received the rows of `table` with these primary keys (Art. 19 for an erasure of
    exactly those rows): names sorted and distinct, and categories for a handler."""
    declared = system.tables[table]
    if not keys:
        return Recipients(named={})
    found: set[str] = set()
    categories: list[str] = []
    async with engine.connect() as conn:
        reflected = await _reflect(conn, system)
        key = reflected[table].c[declared.primary_key]
        for chunk in _chunks(sorted(set(keys))):
            chosen = key.in_(chunk)
            if declared.recipient_column is not None:
                rows = await _named_recipients(conn, declared, reflected[table], chosen)
                found.update(recipient for recipient, _ in rows)
            else:
                resolved = await _declared_recipients(conn, system, reflected, table, chosen)
                found.update(resolved.named)
                categories += resolved.categories
    return Recipients(
        named={name: declared.received_categories() for name in sorted(found)},
        categories=tuple(dict.fromkeys(categories)),
    )


async def _declared_recipients(
    conn: AsyncConnection,
    system: SystemDecl,
    tables: Mapping[str, sa.Table],
    name: str,
    where: sa.ColumnElement[bool],
) -> Recipients:
    """The recipients a table declares, for its rows `where` selects: the named ones, each
    category through its column where it has one (none found: the category itself)."""
    declared = system.tables[name]
    named = set(declared.named_recipients())
    categories: list[str] = []
    for category in declared.recipient_categories():
        values: list[str] = []
        if category.column is not None:
            owner, _, column = category.column.rpartition(".")
            if owner:
                link = declared.link
                assert link.column is not None and link.parent_column is not None
                parent = tables[owner]
                query = (
                    sa.select(parent.c[column])
                    .distinct()
                    .where(
                        parent.c[link.parent_column].in_(
                            sa.select(tables[name].c[link.column]).where(where)
                        ),
                        parent.c[column].is_not(None),
                    )
                )
            else:
                own = tables[name].c[column]
                query = sa.select(own).distinct().where(where, own.is_not(None))
            values = [str(value) for value in (await conn.execute(query)).scalars()]
        if values:
            named.update(values)
        else:
            categories.append(category.category)
    return Recipients(named={n: frozenset() for n in sorted(named)}, categories=tuple(categories))


async def _named_recipients(
    conn: AsyncConnection, declared: TableDecl, table: sa.Table, where: sa.ColumnElement[bool]
) -> list[tuple[str, frozenset[str]]]:
    """(recipient, categories received) for the rows of a table that names its recipients."""
    assert declared.recipient_column is not None
    recipient = table.c[declared.recipient_column]
    if declared.recipient_categories_column is None:
        query = sa.select(recipient).distinct().where(where, recipient.is_not(None))
        categories = declared.received_categories()
        return [(str(name), categories) for name in (await conn.execute(query)).scalars()]
    given = table.c[declared.recipient_categories_column]
    query = sa.select(recipient, given).distinct().where(where, recipient.is_not(None))
    return [
        (str(name), frozenset(part.strip() for part in str(text or "").split(",") if part.strip()))
        for name, text in (await conn.execute(query)).all()
    ]


async def has_protected_identity(engine: AsyncEngine, system: SystemDecl, subject_id: str) -> bool:
    """Whether the system records the subject as having protected personal data (skyddade
    personuppgifter); False where the system declares no such flag."""
    _require_canonical(subject_id, "has_protected_identity")
    flag = system.protected_identity
    if flag is None:
        return False
    async with engine.connect() as conn:
        tables = await _reflect(conn, system)
        query = sa.select(
            sa.exists().where(
                _belongs_to_subject(system, tables, flag.table, subject_id),
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
        .where(_belongs_to_subject(system, tables, name, subject_id), flag.is_distinct_from(value))
        .values({column: value})
    )
    return result.rowcount


def _timestamp_for(column: sa.Column[Any], moment: datetime) -> datetime:
    if isinstance(column.type, sa.DateTime) and not column.type.timezone:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


# --- Erasure (Art. 17) under the document management plan's disposal rules ------------------

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

    Each row is judged by its table's disposal rule in the document plan (infra.disposal): every
    period of the rule must have passed; a table under no rule is kept for good. A row is then
    kept at least as long as the rows that refer to it or are found through it, so erasing
    never breaks a foreign key or leaves a kept row that can no longer be traced to the subject.
    A row that also belongs to someone else is kept for them. Items come in `erasure_order`;
    within a table, the rows erased now first, then the kept ones by date.
    """
    _require_canonical(subject_id, "plan_erasure")
    references = system.row_references()
    async with engine.connect() as conn:
        tables = await _reflect(conn, system)
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
        reflected = (await _reflect(conn, system))[table]
        key = reflected.c[declared.primary_key]
        for chunk in _chunks(sorted(set(keys))):
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
    _log_write("erased", system, {table: changed} if changed else {})
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
    mine = _belongs_to_subject(system, tables, name, subject_id)
    result = await conn.execute(sa.select(*(table.c[c] for c in columns)).where(mine))
    rows: dict[int, Mapping[str, Any]] = {
        row[declared.primary_key]: dict(row) for row in result.mappings()
    }
    if declared.link.subject_column is not None:
        return rows, set()  # a row with the subject's own number is nobody else's
    others = sa.select(key).where(mine, _belongs_to_others(system, tables, name, subject_id))
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


def _chunks(keys: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(keys), _KEY_CHUNK):
        yield keys[start : start + _KEY_CHUNK]


def _require_canonical(subject_id: str, where: str) -> None:
    if not _CANONICAL.fullmatch(subject_id):
        # The number itself stays out of the message: exceptions end up in logs and history.
        raise ValueError(f"{where}: expected a canonical 12-digit identity number")


def _log_write(what: str, system: SystemDecl, counts: Mapping[str, int]) -> None:
    logger.info(what, extra={"system": system.name, "rows": dict(counts)})
