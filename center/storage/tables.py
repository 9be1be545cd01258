"""The center's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Identifiers, types, times, amounts and digests; never names, addresses or
personal data; PDFs only for the 10 minutes an order may be downloaded.

One time type: every instant is epoch seconds (double precision), converted
to and from timezone-aware datetimes at the repository's edge; calendar days
(contracts, fee periods) are ISO dates as text. The schema changes only
through an Alembic revision in ``migrations/versions`` (``python -m center
migrate``); this module is the head of those revisions."""

from __future__ import annotations

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
    Column("closed_at", Instant),
    Column("terminal_fingerprint", Text))  # the terminal's certificate (center/terminals.py)

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
    Column("settled_at", Instant),
    Column("terminal_fingerprint", Text))

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

# Request budgets (center/rate_limit.py): one token bucket per key, every worker's.
request_budgets = Table(
    "request_budgets", metadata,
    Column("key", Text, primary_key=True),
    Column("tokens", Double, nullable=False),
    Column("updated_at", Double, nullable=False),  # real time, epoch seconds
    Column("allowed", Integer, nullable=False))

# UNLOGGED on PostgreSQL, rewritten by the upkeep (c0006, CenterStore.scrub_deleted_pdfs).
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

# -- what every center worker shares (storage/shared_state.py) --------------------
leases = Table(
    "leases", metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("rounds", Integer, nullable=False, server_default="0"))

order_keys = Table(
    "order_keys", metadata,
    Column("terminal_id", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("request_sha256", Text, nullable=False),
    Column("claimed_by", Text, nullable=False),
    Column("claimed_at", Double, nullable=False),
    Column("status", Integer),
    Column("response", Text),
    # the order's id, given before the order is made: a takeover finds it (c0005)
    Column("order_id", Text),
    PrimaryKeyConstraint("terminal_id", "idempotency_key"))

dev_settings = Table(
    "dev_settings", metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False))
