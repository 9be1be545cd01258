"""Incidents, the outcome outbox and the terminal registry (issue 14); the
terminal's certificate fingerprint on sessions and orders.

Idempotent like the baseline: a demo database made by the code of that time
(``CREATE TABLE IF NOT EXISTS`` and ALTER TABLE on open) already has some or
all of it and keeps its rows.

Revision ID: c0002
Revises: c0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Double, Index, Integer, MetaData, Table, Text

from konbini.migrations import ensure_schema

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None

metadata = MetaData()
Instant = Double  # epoch seconds (UTC)

# Columns added to existing tables (only these columns are declared here).
Table("sessions", metadata, Column("terminal_fingerprint", Text))
Table("orders", metadata, Column("terminal_fingerprint", Text))

# -- incidents (issue 14): identifiers and codes only, never personal data --------
incidents = Table(
    "incidents", metadata,
    Column("incident_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("municipality_code", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("order_id", Text),
    Column("certificate_id", Text),
    Column("request_id", Text),
    Column("terminal_id", Text),
    Column("detail_code", Text),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", Instant, nullable=False),
    Column("acknowledged_at", Instant),
    Column("resolved_at", Instant),
    Column("updated_at", Instant, nullable=False),
    Index("incidents_municipality", "municipality_code", "created_at"))

# Outcomes owed to municipal servers (交付履歴の照合), kept until acknowledged.
outcome_outbox = Table(
    "outcome_outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Text, nullable=False),
    Column("municipality_code", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Instant, nullable=False),
    Column("delivered_at", Instant),
    Column("result", Integer),
    Index("outcome_outbox_request", "request_id"),
    Index("outcome_outbox_due", "delivered_at", "next_attempt_at"),
    sqlite_autoincrement=True)

# Terminal registry: a kiosk is known by its certificate's fingerprint, not its CN.
terminals = Table(
    "terminals", metadata,
    Column("fingerprint", Text, primary_key=True),
    Column("terminal_id", Text, nullable=False),
    Column("chain", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    Column("hours", Text, nullable=False, server_default=""),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("enrolled_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False))

chains = Table(
    "chains", metadata,
    Column("chain", Text, primary_key=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("smartphone", Integer, nullable=False),
    Column("updated_at", Instant, nullable=False))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    for table in ("chains", "terminals", "outcome_outbox", "incidents"):
        op.drop_table(table)
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("terminal_fingerprint")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("terminal_fingerprint")
