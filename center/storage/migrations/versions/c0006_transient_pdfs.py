"""A certificate's PDF is held only while it may be downloaded (issue 11,
personal data on disk): on PostgreSQL ``order_pdfs`` becomes UNLOGGED, so the
PDF never enters the WAL, and its column is stored out of line uncompressed;
the upkeep rewrites the table so a deleted PDF leaves no data file behind
(``CenterStore.scrub_deleted_pdfs``). An unlogged table is emptied after a
crash of PostgreSQL: an order whose PDF is lost is refused at download
(``download-expired``) and voided after 10 minutes, never charged.

Also drops ``rate_buckets`` (c0003): unused since the request budgets moved to
``request_budgets`` (c0004, center/rate_limit.py).

SQLite: only the drop (deleted rows are zeroed there by secure_delete).

Revision ID: c0006
Revises: c0005
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Double, MetaData, Table, Text, inspect

from konbini.migrations import set_transient

revision = "c0006"
down_revision = "c0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    set_transient(op, "order_pdfs", ("pdf",))
    if "rate_buckets" in inspect(op.get_bind()).get_table_names():
        op.drop_table("rate_buckets")


def downgrade() -> None:
    set_transient(op, "order_pdfs", ("pdf",), transient=False)
    metadata = MetaData()
    Table("rate_buckets", metadata,
          Column("terminal_id", Text, primary_key=True),
          Column("tokens", Double, nullable=False),
          Column("updated", Double, nullable=False))
    metadata.create_all(op.get_bind(), checkfirst=True)
