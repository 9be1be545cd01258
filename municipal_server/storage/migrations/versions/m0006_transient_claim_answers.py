"""A claim's answer holds the certificates' PDFs for 60 seconds (issue 11,
personal data on disk): on PostgreSQL ``issuance_claims`` becomes UNLOGGED, so
the PDFs never enter the WAL, and ``response`` is stored out of line
uncompressed; the periodic forgetting rewrites the table so a forgotten answer
leaves no data file behind (municipal_server/issuance_claims.py). An unlogged
table is emptied after a crash of PostgreSQL: the claims then start afresh (the
交付履歴, a logged table, keeps every issuance). SQLite: nothing.

Revision ID: m0006
Revises: m0005
"""

from __future__ import annotations

from alembic import op

from konbini.migrations import set_transient

revision = "m0006"
down_revision = "m0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    set_transient(op, "issuance_claims", ("response",))


def downgrade() -> None:
    set_transient(op, "issuance_claims", ("response",), transient=False)
