"""Notification delivery claims: the worker sending a row and its lease.

Revision ID: 0003_delivery_claims
Revises: 0002
Create Date: 2025-01-03 00:00:00

``claimed_by``/``claimed_until`` let any number of delivery workers share the pending
email and SMS: a worker claims rows before it sends them, and a dead worker's claim
runs out (docs/decisions/0008-delivery-claims.md). Rows that exist keep no claim.

The pending-delivery index gains ``id`` as its second column: the claim orders by
``(created_at, id)`` and stops at its limit, so it reads only the first rows of the
index instead of sorting every pending one. Claimed rows stay in the index (they are
few: at most the workers' batches) and the lease is checked on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0003_delivery_claims"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The WHERE of the delivery sweep's partial index (as in 0001).
PENDING_DELIVERY = "status = 'pending' AND channel != 'in_app'"
INDEX = "ix_notifications_pending_delivery"


def _pending_delivery_index(*columns: str) -> None:
    op.create_index(
        INDEX,
        "notifications",
        list(columns),
        unique=False,
        postgresql_where=sa.text(PENDING_DELIVERY),
        sqlite_where=sa.text(PENDING_DELIVERY),
    )


def upgrade() -> None:
    # Nullable columns without constraints: ALTER TABLE ADD COLUMN on both databases.
    op.add_column("notifications", sa.Column("claimed_by", GUID(), nullable=True))
    op.add_column(
        "notifications", sa.Column("claimed_until", DateTimeUTC(timezone=True), nullable=True)
    )
    op.drop_index(INDEX, table_name="notifications")
    _pending_delivery_index("created_at", "id")


def downgrade() -> None:
    op.drop_index(INDEX, table_name="notifications")
    _pending_delivery_index("created_at")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode: batch mode would copy the
    # table from its reflection, which turns SQLite's BINARY(16) uuid columns into NUMERIC.
    op.drop_column("notifications", "claimed_until")
    op.drop_column("notifications", "claimed_by")
