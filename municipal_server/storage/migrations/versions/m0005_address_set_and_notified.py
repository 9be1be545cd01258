"""住所を定めた年月日 and 届出日 on the resident record (the 住民票's rows).

Idempotent like the baseline: a register whose code added them with ALTER
TABLE keeps them and their values; NULL means the day of moving in.

Revision ID: m0005
Revises: m0004
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, MetaData, Table, Text

from konbini.migrations import ensure_schema

revision = "m0005"
down_revision = "m0004"
branch_labels = None
depends_on = None

metadata = MetaData()
Table("residents", metadata, Column("address_set_on", Text), Column("notified_on", Text))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("notified_on")
        batch.drop_column("address_set_on")
