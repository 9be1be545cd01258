"""The municipal server's storage: tables (SQLAlchemy Core), the register
repository with its unit of work, and the Alembic migrations
(``python -m municipal_server migrate --code C``)."""

from .repositories import Register, UnknownRecord, migrate_database

__all__ = ["Register", "UnknownRecord", "migrate_database"]
