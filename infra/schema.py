"""The case register's schema, kept by Alembic migrations (infra/migrations).

`upgrade` brings a register to the code's revision (`python -m infra.migrate upgrade`);
`require_current` refuses a register that is behind or ahead, so a worker never runs on a schema it
does not know. Registers made before migrations existed (tables, no `alembic_version`) are taken as
the first revision: the first migration adds what such a register lacks (the trail's chain tables
of later versions, or what an interrupted run left out) and keeps every table and row it has.
One upgrade runs at a time (PostgreSQL: a transaction-scoped advisory lock; SQLite: the
write lock taken up front), in one transaction: another started at once waits, then finds
nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The register as it stood when migrations began: what create_all made until then.
BASELINE = "0001"
BASELINE_TABLES = frozenset(
    {
        "audit_links",
        "audit_meta",
        "case_counters",
        "case_events",
        "cases",
        "public_entries",
        "restriction_holds",
    }
)
# pg_advisory_xact_lock's key for migrating the register ("dsr-db" in ASCII).
UPGRADE_LOCK = 0x6473722D6462


class SchemaError(RuntimeError):
    """The register's schema does not match the code; the message says what to run."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: an empty database, or one from before migrations
    head: str
    unversioned_tables: bool  # tables without a revision: a register from before migrations
    known: bool = True  # the code knows the revision (False: a newer version migrated it)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def ahead(self) -> bool:
        return self.current is not None and not self.known

    @property
    def where(self) -> str:
        """Where the register stands, in words."""
        if self.current is not None:
            return f"revision {self.current}"
        return "from before migrations" if self.unversioned_tables else "without a schema"

    @property
    def verdict(self) -> str:
        if self.up_to_date:
            return "up to date"
        if self.ahead:
            return "newer than this version: run the newer version of the engine"
        if self.current is None and not self.unversioned_tables:
            return "no schema yet: run `python -m infra.migrate upgrade`"
        return "behind: run `python -m infra.migrate upgrade`"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def _known() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def _state(connection: Connection) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    tables = set(sa.inspect(connection).get_table_names())
    return SchemaState(
        current=current,
        head=head(),
        unversioned_tables=current is None and bool(tables & BASELINE_TABLES),
        known=current is None or current in _known(),
    )


def _upgrade(connection: Connection, to: str) -> SchemaState:
    # One migration at a time, all of it in one transaction: a second `db upgrade` waits, then
    # finds nothing to do; an interrupted one leaves the register as it was.
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
    elif connection.dialect.name == "sqlite":
        # The driver would run DDL outside a transaction; take the write lock first instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    found = _state(connection)
    if found.ahead:
        raise SchemaError(
            f"the case register's schema is at revision {found.current}, newer than this "
            f"version knows ({found.head}): run the newer version of the engine; nothing changed"
        )
    command.upgrade(_config(connection), to)
    return found


async def state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as conn:
        return await conn.run_sync(_state)


async def upgrade(engine: AsyncEngine, to: str = "head") -> tuple[SchemaState, SchemaState]:
    """Migrate the register to the code's revision (or `to`); (before, after)."""
    async with engine.begin() as conn:
        before = await conn.run_sync(_upgrade, to)
    return before, await state(engine)


async def require_current(engine: AsyncEngine) -> None:
    """Refuse a register whose schema is not the code's, saying what to do."""
    found = await state(engine)
    if found.up_to_date:
        return
    if found.current is None and not found.unversioned_tables:
        raise SchemaError(
            "the case register has no schema yet: run `python -m infra.migrate upgrade` first"
        )
    if found.ahead:
        raise SchemaError(
            f"the case register's schema is at revision {found.current}, newer than this "
            f"code knows ({found.head}): run the newer version of the engine"
        )
    raise SchemaError(
        f"the case register's schema is behind ({found.where}, the code needs {found.head}): "
        "run `python -m infra.migrate upgrade` first"
    )
