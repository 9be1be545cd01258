"""One time type in both services: the register's instants (issuance
history, use registrations, cards, the clerk's log, issuance outcomes) from
ISO 8601 text to epoch seconds, as the center keeps them. Dates stay ISO
dates. Every row is converted in place; the wire still shows ISO 8601 in
Japan time (the repository converts at its edge).

Revision ID: m0004
Revises: m0003
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "m0004"
down_revision = "m0003"
branch_labels = None
depends_on = None

# table -> (key columns, instant columns, which of those are NOT NULL)
INSTANTS = {
    "issuance_history": (("request_id",), ("issued_at",), ("issued_at",)),
    "use_registrations": (("resident_code",), ("registered_at", "approved_at"),
                          ("registered_at",)),
    "cards": (("serial",), ("issued_at",), ("issued_at",)),
    "clerk_log": (("entry",), ("at",), ("at",)),
    "issuance_outcomes": (("request_id", "certificate_number"), ("reported_at",),
                          ("reported_at",)),
}


def _epoch(value: object) -> str | None:
    if value is None or value == "":
        return None
    try:
        return repr(float(value))  # type: ignore[arg-type]  # already a number
    except ValueError:
        return repr(datetime.fromisoformat(str(value)).timestamp())


def upgrade() -> None:
    connection = op.get_bind()
    for table, (keys, columns, required) in INSTANTS.items():
        rows = connection.execute(sa.text(
            f"SELECT {', '.join(keys + columns)} FROM {table}")).mappings().all()
        if rows:
            assignments = ", ".join(f"{c} = :{c}" for c in columns)
            where = " AND ".join(f"{k} = :{k}" for k in keys)
            connection.execute(
                sa.text(f"UPDATE {table} SET {assignments} WHERE {where}"),
                [{**{k: row[k] for k in keys}, **{c: _epoch(row[c]) for c in columns}}
                 for row in rows])
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Double(), existing_type=sa.Text(),
                                   existing_nullable=column not in required,
                                   postgresql_using=f"{column}::double precision")


def downgrade() -> None:
    raise NotImplementedError("instants stay epoch seconds")
