"""Baseline: the center's schema as the code before Alembic created it
(``CREATE TABLE IF NOT EXISTS`` in center/storage.py and ledger_store.py).

On a new database it creates every table; on an existing un-versioned one
(a demo's var/center/center.db) it creates only what is missing and keeps
every row. The tables are frozen here: later changes are later revisions.

Revision ID: c0001
Revises:
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)

from konbini.migrations import ensure_schema

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None

metadata = MetaData()
Instant = Double  # epoch seconds (UTC)

municipalities = Table(
    "municipalities", metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("prefecture", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("services", Text, nullable=False),  # JSON
    Column("status", Text, nullable=False),
    Column("registered_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False))

maintenance_windows = Table(
    "maintenance_windows", metadata,
    Column("id", Integer, primary_key=True),
    Column("municipality_code", Text),  # NULL: center-wide
    Column("starts_at", Instant, nullable=False),
    Column("ends_at", Instant, nullable=False),
    Column("reason", Text, nullable=False, server_default=""))

jpki_certificates = Table(
    "jpki_certificates", metadata,
    Column("serial", Text, primary_key=True),
    Column("municipality_code", Text, nullable=False),
    Column("resident_code", Text, nullable=False),
    Column("credential", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("not_before", Instant, nullable=False),
    Column("not_after", Instant, nullable=False),
    Column("issued_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("jpki_resident", "municipality_code", "resident_code"))

use_registrations = Table(
    "use_registrations", metadata,
    Column("serial", Text, nullable=False),
    Column("domicile_code", Text, nullable=False),
    Column("registered_at", Instant, nullable=False),
    PrimaryKeyConstraint("serial", "domicile_code"))

sessions = Table(
    "sessions", metadata,
    Column("session_id", Text, primary_key=True),
    Column("terminal_id", Text, nullable=False),
    Column("chain", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("credential", Text, nullable=False),
    Column("challenge", LargeBinary),  # NULL once consumed
    Column("challenge_issued_at", Instant, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("last_seen_at", Instant, nullable=False),
    Column("authenticated_at", Instant),
    Column("serial", Text),
    Column("municipality_code", Text),
    Column("resident_code", Text),
    Column("closed_at", Instant))

orders = Table(
    "orders", metadata,
    Column("order_id", Text, primary_key=True),
    Column("session_id", Text, nullable=False),
    Column("terminal_id", Text, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("municipality_code", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("copies", Integer, nullable=False),
    Column("fee_yen", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("download_until", Instant, nullable=False),
    Column("charged_yen", Integer),
    Column("refunded_yen", Integer),
    Column("settled_at", Instant))

certificates = Table(
    "certificates", metadata,
    Column("certificate_id", Text, primary_key=True),
    Column("order_id", Text, ForeignKey("orders.order_id"), nullable=False),
    Column("certificate_number", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("municipality_code", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("front_sha256", Text, nullable=False),
    Column("fee_yen", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("void_reason", Text),
    Column("issued_at", Instant, nullable=False),
    Index("certificates_order", "order_id"))

order_pdfs = Table(
    "order_pdfs", metadata,
    Column("certificate_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("expires_at", Instant, nullable=False))

# -- the settlement ledger (精算台帳), contracts, fee periods, refusals -----------
ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("certificate_id", Text, nullable=False, unique=True),
    Column("order_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("municipality_code", Text, nullable=False),
    Column("chain", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("terminal_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("fee_yen", Integer, nullable=False),
    Column("center_commission_yen", Integer, nullable=False),
    Column("store_commission_yen", Integer, nullable=False),
    Column("issued_at", Instant, nullable=False),
    Column("booked_at", Instant, nullable=False),
    Column("void_reason", Text),
    Index("ledger_municipality", "municipality_code", "issued_at"),
    Index("ledger_issued", "issued_at"))

contracts = Table(
    "contracts", metadata,
    Column("id", Integer, primary_key=True),
    Column("municipality_code", Text),  # NULL: the default contract
    Column("starts_on", Text, nullable=False),
    Column("center_commission_yen", Integer, nullable=False),
    Column("store_commission_yen", Integer, nullable=False),
    Column("yearly_contribution_yen", Integer, nullable=False),
    Column("created_at", Instant, nullable=False))
Index("contracts_start", func.coalesce(contracts.c.municipality_code, ""),
      contracts.c.starts_on, unique=True)

fee_periods = Table(
    "fee_periods", metadata,
    Column("id", Integer, primary_key=True),
    Column("municipality_code", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("fee_yen", Integer, nullable=False),
    Column("starts_on", Text, nullable=False),
    Column("ends_on", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Index("fee_periods_code", "municipality_code", "type"))

refusals = Table(
    "refusals", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("municipality_code", Text),
    Column("chain", Text, nullable=False, server_default=""),
    Column("terminal_id", Text, nullable=False, server_default=""),
    Column("at", Instant, nullable=False),
    Index("refusals_at", "at"))


def upgrade() -> None:
    ensure_schema(op, metadata)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: delete the database instead")
