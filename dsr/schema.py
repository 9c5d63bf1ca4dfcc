"""The case register's schema, kept by Alembic migrations (dsr/migrations).

`upgrade` brings a register to the code's revision (`starter.py db upgrade`); `require_current`
refuses a register that is behind or ahead, so a worker never runs on a schema it does not
know. Registers made before migrations existed (tables, no `alembic_version`) are taken as the
first revision and upgraded from there.
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


class SchemaError(RuntimeError):
    """The register's schema does not match the code; the message says what to run."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: an empty database, or one from before migrations
    head: str
    unversioned_tables: bool  # tables without a revision: a register from before migrations

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def _state(connection: Connection) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    tables = set(sa.inspect(connection).get_table_names())
    return SchemaState(
        current=current,
        head=head(),
        unversioned_tables=current is None and "cases" in tables,
    )


def _upgrade(connection: Connection, to: str) -> None:
    config = _config(connection)
    if _state(connection).unversioned_tables:
        command.stamp(config, BASELINE)
    command.upgrade(config, to)


async def state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as conn:
        return await conn.run_sync(_state)


async def upgrade(engine: AsyncEngine, to: str = "head") -> tuple[SchemaState, SchemaState]:
    """Migrate the register to the code's revision (or `to`); (before, after)."""
    before = await state(engine)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, to)
    return before, await state(engine)


async def require_current(engine: AsyncEngine) -> None:
    """Refuse a register whose schema is not the code's, saying what to do."""
    found = await state(engine)
    if found.up_to_date:
        return
    if found.current is None and not found.unversioned_tables:
        raise SchemaError(
            "the case register has no schema yet: run `python starter.py db upgrade` first"
        )
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if found.current is not None and found.current not in known:
        raise SchemaError(
            f"the case register's schema is at revision {found.current}, newer than this "
            f"code knows ({found.head}): run the newer version of the engine"
        )
    where = found.current or "from before migrations"
    raise SchemaError(
        f"the case register's schema is behind (at {where}, the code needs {found.head}): run "
        "`python starter.py db upgrade` first"
    )
