"""What every center worker shares (several workers, issue 11): leases, rate
buckets, orders' Idempotency-Keys, the test environment's settings.

Idempotent like the baseline: a database made by the code of that time
already has them and keeps its rows.

Revision ID: c0003
Revises: c0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Double, Integer, MetaData, PrimaryKeyConstraint, Table, Text

from konbini.migrations import ensure_schema

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None

metadata = MetaData()

# -- what every center worker shares (center/shared_state.py) ---------------------
leases = Table(
    "leases", metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("rounds", Integer, nullable=False, server_default="0"))

rate_buckets = Table(
    "rate_buckets", metadata,
    Column("terminal_id", Text, primary_key=True),
    Column("tokens", Double, nullable=False),
    Column("updated", Double, nullable=False))

order_keys = Table(
    "order_keys", metadata,
    Column("terminal_id", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("request_sha256", Text, nullable=False),
    Column("claimed_by", Text, nullable=False),
    Column("claimed_at", Double, nullable=False),
    Column("status", Integer),
    Column("response", Text),
    PrimaryKeyConstraint("terminal_id", "idempotency_key"))

dev_settings = Table(
    "dev_settings", metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    for table in ("dev_settings", "order_keys", "rate_buckets", "leases"):
        op.drop_table(table)
