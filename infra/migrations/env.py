"""Alembic's environment: migrations run on the connection `infra.schema` hands over, never on a
URL of their own (the register's URL and engine options live in the settings)."""

from __future__ import annotations

from alembic import context

from infra.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `python -m infra.migrate upgrade` (infra.schema)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; Alembic's batch mode does that for it.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
