"""User sessions: what each sign-in was made with (client, coarse network), and when.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 00:00:00

One row per refresh-token family. Whether a session is still active is not stored
here: it is read from ``refresh_tokens`` (a live token in the family). The network
is a /24 (IPv4) or /48 (IPv6) prefix, never a full address. Sessions begun before
this revision get their row at their next refresh.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("client", sa.String(length=120), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"], unique=False)
    op.create_index(
        "ix_user_sessions_last_used_at", "user_sessions", ["last_used_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("user_sessions")  # its indexes go with it
