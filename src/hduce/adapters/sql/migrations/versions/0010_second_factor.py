"""Second factor for staff: TOTP authenticators, recovery codes, two-factor sessions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:00:00

``totp_enrolments`` holds one row per account that enrolled an authenticator: the
confirmed secret and a pending one, both sealed with AES-GCM (never in clear, ADR 0017),
and the last TOTP time step accepted (a code is accepted once). ``recovery_codes``
holds only the SHA-256 of each code. ``second_factor_sessions`` names the sessions
(refresh-token families) that passed a second factor, which the admin policy reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "totp_enrolments",
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("confirmed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("pending_secret", sa.Text(), nullable=True),
        sa.Column("pending_since", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_totp_enrolments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_totp_enrolments")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "code_hash", name=op.f("pk_recovery_codes")),
    )
    op.create_table(
        "second_factor_sessions",
        sa.Column("session_id", GUID(), nullable=False),
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("verified_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_second_factor_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_second_factor_sessions")),
    )
    op.create_index(
        "ix_second_factor_sessions_user_id", "second_factor_sessions", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("second_factor_sessions")  # its index goes with it
    op.drop_table("recovery_codes")
    op.drop_table("totp_enrolments")
