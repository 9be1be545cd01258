"""Forgetting the answers past their retention reads only those answers (issue 12).

``UPDATE issuance_claims SET response = NULL WHERE response IS NOT NULL AND
keep_until <= now`` runs with every issuance and every upkeep round. Without an
index it read every claim, and on SQLite it read each held answer's PDFs on the
way (``keep_until`` is stored after ``response``): ~1.4 ms an issuance with 100
answers held, growing with the rate of issuance (an answer is held 60 seconds).
A partial index on ``keep_until`` of the answers still held finds the due ones
alone; it holds no personal data. PostgreSQL: the index of an unlogged table is
unlogged too (m0006).

Revision ID: m0007
Revises: m0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "m0007"
down_revision = "m0006"
branch_labels = None
depends_on = None

HELD = sa.text("response IS NOT NULL")


def upgrade() -> None:
    op.create_index("issuance_claims_due", "issuance_claims", ["keep_until"],
                    sqlite_where=HELD, postgresql_where=HELD, if_not_exists=True)


def downgrade() -> None:
    op.drop_index("issuance_claims_due", "issuance_claims", if_exists=True)
