"""Alembic migrations of the case register; run through `dsr.schema` (`starter.py db upgrade`)."""
