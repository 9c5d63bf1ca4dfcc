"""The case register as it stood when migrations began (what create_all made until then).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here: a migration must build what it built then, whatever the models say later.
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A register from before migrations already has some or all of these (an older version's
    # has no trail chain tables; an interrupted run on SQLite, whose DDL is not transactional,
    # may have part): make what is missing, keep what is there with its rows.
    existing = set(sa.inspect(op.get_bind()).get_table_names())

    def table(name: str, *parts: Any) -> None:
        if name not in existing:
            op.create_table(name, *parts)

    def index(name: str, table_name: str, columns: list[str]) -> None:
        have = {found["name"] for found in sa.inspect(op.get_bind()).get_indexes(table_name)}
        if name not in have:
            op.create_index(name, table_name, columns)

    table(
        "audit_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_since", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_meta"),
    )
    table(
        "case_counters",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_case_counters"),
    )
    table(
        "cases",
        sa.Column("case_number", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("open_key", sa.String(length=100), nullable=True),
        sa.Column("intake_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("case_number", name="pk_cases"),
        sa.UniqueConstraint("open_key", name="uq_cases_open_key"),
    )
    index("ix_cases_subject_ref", "cases", ["subject_ref"])
    table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_number", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_number"], ["cases.case_number"], name="fk_case_events_case_number_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.UniqueConstraint("case_number", "step", name="uq_case_events_step"),
    )
    table(
        "public_entries",
        sa.Column("case_number", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_number"], ["cases.case_number"], name="fk_public_entries_case_number_cases"
        ),
        sa.PrimaryKeyConstraint("case_number", name="pk_public_entries"),
    )
    table(
        "restriction_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("case_number", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_number"], ["cases.case_number"], name="fk_restriction_holds_case_number_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_restriction_holds"),
        sa.UniqueConstraint("subject_ref", "case_number", name="uq_holds_case"),
    )
    index("ix_restriction_holds_subject_ref", "restriction_holds", ["subject_ref"])
    table(
        "audit_links",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=16), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_events.id"], name="fk_audit_links_event_id_case_events"
        ),
        sa.PrimaryKeyConstraint("event_id", name="pk_audit_links"),
    )
    index("ix_audit_links_case_number", "audit_links", ["case_number"])
    # The trail's chain begins with the register: every case in it is chained from its first row.
    # Cases of an older register were not chained; the chain begins now for later ones.
    meta = sa.table("audit_meta", sa.column("id", sa.Integer()), sa.column("chain_since", WHEN))
    if op.get_bind().scalar(sa.select(sa.func.count()).select_from(meta)) == 0:
        op.bulk_insert(meta, [{"id": 1, "chain_since": datetime.now(UTC)}])


def downgrade() -> None:
    for table in (
        "audit_links",
        "restriction_holds",
        "public_entries",
        "case_events",
        "cases",
        "case_counters",
        "audit_meta",
    ):
        op.drop_table(table)
