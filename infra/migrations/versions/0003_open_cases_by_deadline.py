"""Open cases by deadline: the web console's inbox and overview list the open cases sorted by
deadline a page at a time; without an index each page was a scan and a sort of the whole
register, closed cases and all.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_open_by_deadline", "cases", ["closed_at", "deadline", "case_number"])


def downgrade() -> None:
    op.drop_index("ix_cases_open_by_deadline", table_name="cases")
