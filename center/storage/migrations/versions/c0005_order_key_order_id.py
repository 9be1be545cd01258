"""The order id of an Idempotency-Key claim, given before the order is made,
so a worker that takes over a dead worker's claim finds the order.

Idempotent like the baseline: a database whose code created the table with
the column keeps it and its values.

Revision ID: c0005
Revises: c0004
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, MetaData, Table, Text

from konbini.migrations import ensure_schema

revision = "c0005"
down_revision = "c0004"
branch_labels = None
depends_on = None

metadata = MetaData()
Table("order_keys", metadata, Column("order_id", Text))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    with op.batch_alter_table("order_keys") as batch:
        batch.drop_column("order_id")
