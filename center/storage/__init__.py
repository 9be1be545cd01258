"""The center's storage: tables (SQLAlchemy Core), the repository with its
unit of work, and the Alembic migrations (``python -m center migrate``)."""

from .ledger import EntryContext, LedgerStore
from .repositories import (
    CardRecord,
    CenterStore,
    CertificateRecord,
    OperationalGauges,
    OrderRecord,
    SessionRecord,
    TerminalRecord,
    dt,
    migrate_database,
    ts,
)

__all__ = ["CardRecord", "CenterStore", "CertificateRecord", "EntryContext", "LedgerStore",
           "OperationalGauges", "OrderRecord", "SessionRecord", "TerminalRecord", "dt",
           "migrate_database", "ts"]
