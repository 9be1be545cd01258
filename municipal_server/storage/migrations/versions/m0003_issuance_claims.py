"""request_id claims (several workers, issue 11): a request is issued once
whichever worker receives it.

Idempotent like the baseline: a register made by the code of that time
already has the table and keeps its rows.

Revision ID: m0003
Revises: m0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Double, MetaData, Table, Text

from konbini.migrations import ensure_schema

revision = "m0003"
down_revision = "m0002"
branch_labels = None
depends_on = None

metadata = MetaData()

# request_id claims: a request is issued once across workers (issuance_claims.py).
issuance_claims = Table(
    "issuance_claims", metadata,
    Column("request_id", Text, primary_key=True),
    Column("request_sha256", Text, nullable=False),
    Column("claimed_by", Text, nullable=False),
    Column("claimed_at", Double, nullable=False),  # epoch seconds
    Column("response", Text),
    Column("keep_until", Double))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    op.drop_table("issuance_claims")
