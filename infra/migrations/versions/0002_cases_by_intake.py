"""Cases found by their intake: a public-access intake that is retried looks its case up by
the intake id (no one-open-case key), which was a scan of the whole register.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_intake_id", "cases", ["intake_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_intake_id", table_name="cases")
