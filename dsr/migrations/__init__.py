"""Alembic migrations of the case register; run through `dsr.schema`
(`python -m dsr.migrate upgrade`)."""
