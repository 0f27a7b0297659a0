"""Emailed links: ``users.email_verified_at`` and the ``account_tokens`` table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:00:00

``account_tokens`` holds the single-use tokens of password-reset and email-verification
links, as their SHA-256 only (ADR 0015).

Accounts that exist when this runs are marked verified (at their creation time): they
were made before anyone was asked to prove an address, they include every account an
admin or Google vouched for, and their patients have been booking with these
addresses; requiring a proof now would stop them booking overnight for no new reason.
Only accounts registered from now on start unverified.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("email_verified_at", DateTimeUTC(timezone=True), nullable=True)
    )
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.create_table(
        "account_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_account_tokens")),
    )
    op.create_index("ix_account_tokens_expires_at", "account_tokens", ["expires_at"], unique=False)
    op.create_index(
        "ix_account_tokens_user_id_purpose", "account_tokens", ["user_id", "purpose"], unique=False
    )


def downgrade() -> None:
    op.drop_table("account_tokens")  # its indexes go with it
    # Not a batch (a rebuild of ``users`` on SQLite, whose DROP TABLE the other tables'
    # foreign keys refuse): SQLite drops a plain column in place since 3.35.
    op.drop_column("users", "email_verified_at")
