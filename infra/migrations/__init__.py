"""Alembic migrations of the case register; run through `infra.schema`
(`python -m infra.migrate upgrade`)."""
