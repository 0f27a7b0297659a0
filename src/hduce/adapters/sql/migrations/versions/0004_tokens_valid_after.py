"""Users: ``tokens_valid_after``, the instant before which their access tokens are refused.

Revision ID: 0004
Revises: 0003_delivery_claims
Create Date: 2025-01-03 00:00:00

Set when an account is deactivated, so that reactivating it does not revive the
access tokens issued before (they carry their issue time, ``iat``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003_delivery_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("tokens_valid_after", DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("tokens_valid_after")
