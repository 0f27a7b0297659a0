"""Notification preferences per channel and per kind of event.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 07:20:00

``users.notification_opt_outs``: the (channel, event kind) pairs a person turned off,
as a JSON list of ``"channel:kind"`` strings (``hduce.domain.notifications``
``NotificationPreferences``). NULL, as for every account that exists, means none: every
kind on every channel the account can be reached on, as before. Security notices
ignore it (docs/decisions/0024-reports-and-notification-preferences.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hduce.adapters.sql.types import JsonDocument

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: ALTER TABLE ADD COLUMN on both databases, no table rewrite.
    op.add_column("users", sa.Column("notification_opt_outs", JsonDocument, nullable=True))


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode (see 0003).
    op.drop_column("users", "notification_opt_outs")
