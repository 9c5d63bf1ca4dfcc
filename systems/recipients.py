"""Who received a subject's data, for the notices of Art. 19: the recipients a system records
per row (declared columns, a disclosure log), by name and data category.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from systems.catalog import SystemDecl
from systems.connector import belongs_to_subject, chunks, reflect, require_canonical
from systems.tables import TableDecl


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
    require_canonical(subject_id, "subject_recipients")
    found: dict[str, set[str]] = {}
    categories: list[str] = []
    async with engine.connect() as conn:
        reflected = await reflect(conn, system)
        for name, declared in system.tables.items():
            if tables is not None and name not in tables:
                continue
            table = reflected[name]
            mine = belongs_to_subject(system, reflected, name, subject_id)
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
        reflected = await reflect(conn, system)
        key = reflected[table].c[declared.primary_key]
        for chunk in chunks(sorted(set(keys))):
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
