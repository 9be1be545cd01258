"""Issuance outcomes as the center reports them (交付履歴の照合, issue 14).

Idempotent like the baseline: a register made by the code of that time
already has the table and keeps its rows.

Revision ID: m0002
Revises: m0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table, Text

from konbini.migrations import ensure_schema

revision = "m0002"
down_revision = "m0001"
branch_labels = None
depends_on = None

metadata = MetaData()
Table("issuance_outcomes", metadata,
      Column("request_id", Text, nullable=False),
      Column("certificate_number", Text, nullable=False),
      Column("outcome", Text, nullable=False),
      Column("reason", Text, nullable=False, server_default=""),
      Column("reported_at", Text, nullable=False),
      PrimaryKeyConstraint("request_id", "certificate_number"))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    op.drop_table("issuance_outcomes")
