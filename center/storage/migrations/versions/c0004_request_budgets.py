"""Request budgets in the database (center/rate_limit.py): every worker draws
from the same token bucket per terminal and per uploading address.

Idempotent like the baseline: a database made by the code of that time
already has the table and keeps its rows.

Revision ID: c0004
Revises: c0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Double, Integer, MetaData, Table, Text

from konbini.migrations import ensure_schema

revision = "c0004"
down_revision = "c0003"
branch_labels = None
depends_on = None

metadata = MetaData()
Table("request_budgets", metadata,
      Column("key", Text, primary_key=True),
      Column("tokens", Double, nullable=False),
      Column("updated_at", Double, nullable=False),
      Column("allowed", Integer, nullable=False))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    op.drop_table("request_budgets")
