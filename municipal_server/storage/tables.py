"""The municipal register's tables (SQLAlchemy Core), the same on SQLite and
PostgreSQL. One time type, as in the center: every instant is epoch seconds
(double precision), converted to and from timezone-aware datetimes at the
repository's edge; calendar days are ISO dates as text. The schema changes only
through an Alembic revision in ``migrations/versions`` (``python -m
municipal_server migrate``); this module is the head of those revisions."""

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
    text,
)

metadata = MetaData()

households = Table(
    "households", metadata,
    Column("household_id", Text, primary_key=True),
    Column("address", Text, nullable=False))

residents = Table(
    "residents", metadata,
    Column("resident_code", Text, primary_key=True),
    Column("member_id", Text, nullable=False, unique=True),
    Column("household_id", Text, ForeignKey("households.household_id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("name_kana", Text, nullable=False),
    Column("birth_date", Text, nullable=False),
    Column("sex", Text, nullable=False),
    Column("relationship", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("moved_in_on", Text, nullable=False),
    Column("moved_in_reason", Text, nullable=False),
    Column("previous_address", Text),
    Column("support_measure", Integer, nullable=False),
    Column("nationality", Text),
    Column("household_order", Integer, nullable=False, server_default="0"),
    Column("domicile", Text),  # 本籍 (Japanese nationals)
    Column("domicile_head", Text),  # 筆頭者
    Column("domicile_code", Text),  # the municipality that keeps the 戸籍
    Column("residence_status", Text),  # 在留資格 (foreign residents)
    Column("period_of_stay", Text),  # 在留期間
    Column("period_expires_on", Text),  # 在留期間の満了の日
    Column("foreign_category", Text),  # 法第30条の45に規定する区分
    Column("status_on", Text),  # the day of the move out, scheduled move out or death
    Column("address_set_on", Text),  # 住所を定めた年月日; NULL: the day they became resident
    Column("notified_on", Text),  # 届出日 of that move (or birth); NULL: the same day
    Index("residents_household", "household_id"))

seals = Table(
    "seals", metadata,
    Column("resident_code", Text, ForeignKey("residents.resident_code"), primary_key=True),
    Column("image_png", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),
    Column("registered_on", Text, nullable=False),
    Column("abolished_on", Text))

issuance_history = Table(
    "issuance_history", metadata,
    Column("request_id", Text, primary_key=True),
    Column("resident_code", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("copies", Integer, nullable=False),
    Column("options", Text, nullable=False),  # JSON
    Column("issued_at", Double, nullable=False),  # epoch seconds
    Column("terminal_id", Text, nullable=False),
    Column("chain", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("certificate_numbers", Text, nullable=False),  # JSON
    Column("response", Text, nullable=False),  # JSON
    Index("issuance_resident", "resident_code"))

counters = Table(
    "counters", metadata,
    Column("name", Text, primary_key=True),
    Column("value", Integer, nullable=False))

tax_records = Table(
    "tax_records", metadata,
    Column("resident_code", Text, nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("record", Text, nullable=False),  # JSON
    PrimaryKeyConstraint("resident_code", "fiscal_year"))

family_registers = Table(
    "family_registers", metadata,
    Column("register_id", Text, primary_key=True),
    Column("domicile", Text, nullable=False),
    Column("head_name", Text, nullable=False),
    Column("compiled_on", Text, nullable=False))

koseki_persons = Table(
    "koseki_persons", metadata,
    Column("person_id", Text, primary_key=True),
    Column("register_id", Text, ForeignKey("family_registers.register_id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("given_name", Text, nullable=False),
    Column("birth_date", Text, nullable=False),
    Column("father", Text),
    Column("mother", Text),
    Column("relationship", Text, nullable=False),
    Column("spouse_role", Text),
    Column("events", Text, nullable=False),  # JSON
    Column("removed", Integer, nullable=False, server_default="0"),
    Column("resident_code", Text, unique=True),
    Column("addresses", Text, nullable=False, server_default="[]"),  # JSON
    Index("koseki_register", "register_id", "position"))

use_registrations = Table(
    "use_registrations", metadata,
    Column("resident_code", Text, primary_key=True),
    Column("residence_code", Text, nullable=False),
    Column("registered_at", Double, nullable=False),  # epoch seconds
    Column("status", Text, nullable=False, server_default="registered"),  # pending | registered
    Column("approved_at", Double))

disasters = Table(
    "disasters", metadata,
    Column("disaster_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("occurred_on", Text, nullable=False))

damage_reports = Table(
    "damage_reports", metadata,
    Column("disaster_id", Text, ForeignKey("disasters.disaster_id"), nullable=False),
    Column("household_id", Text, ForeignKey("households.household_id"), nullable=False),
    Column("property_address", Text, nullable=False),
    Column("damage_level", Text, nullable=False),
    Column("flooding", Text),
    Column("surveyed_on", Text),
    PrimaryKeyConstraint("disaster_id", "household_id"),
    Index("damage_household", "household_id"))

cards = Table(
    "cards", metadata,
    Column("serial", Text, primary_key=True),
    Column("resident_code", Text, nullable=False),
    Column("credential", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("issued_at", Double, nullable=False),  # epoch seconds
    Column("status_reason", Text),
    Index("cards_resident", "resident_code"))

koseki_notifications = Table(
    "koseki_notifications", metadata,
    Column("notification_id", Integer, primary_key=True),
    Column("register_id", Text, ForeignKey("family_registers.register_id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("filed_on", Text, nullable=False),
    Column("reflected_on", Text),
    Index("koseki_notifications_register", "register_id", "reflected_on"),
    sqlite_autoincrement=True)

clerk_log = Table(
    "clerk_log", metadata,
    Column("entry", Integer, primary_key=True),
    Column("at", Double, nullable=False),  # epoch seconds
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    sqlite_autoincrement=True)

# What became of each issued certificate, as the center reports it (outcomes.py).
issuance_outcomes = Table(
    "issuance_outcomes", metadata,
    Column("request_id", Text, nullable=False),
    Column("certificate_number", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("reported_at", Double, nullable=False),  # epoch seconds
    PrimaryKeyConstraint("request_id", "certificate_number"))

# request_id claims: a request is issued once across workers (issuance_claims.py).
# UNLOGGED on PostgreSQL (m0006): an answer holds PDFs for 60 seconds.
issuance_claims = Table(
    "issuance_claims", metadata,
    Column("request_id", Text, primary_key=True),
    Column("request_sha256", Text, nullable=False),
    Column("claimed_by", Text, nullable=False),
    Column("claimed_at", Double, nullable=False),  # epoch seconds
    Column("response", Text),
    Column("keep_until", Double),
    # The answers still held, by when they are due to be forgotten (m0007, issue 12).
    Index("issuance_claims_due", "keep_until", sqlite_where=text("response IS NOT NULL"),
          postgresql_where=text("response IS NOT NULL")))
