"""Check-in devices (kiosks, QR readers that talk MQTT) and appointments' check-in codes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:00:00

* ``devices``: one row per device an admin registered (name, free-text location,
  SHA-256 of its secret, revocation and last-seen times).
* ``appointments.check_in_code``: the short code printed on the confirmation that a
  device sends to check the patient in. Existing rows get one here (backfill), then a
  unique index makes codes unique and their lookup one index probe.

The column stays nullable: SQLite cannot add a NOT NULL column to a table with rows
without rebuilding it, and every writer sets it anyway (new appointments get their
code from the domain). The backfill draws codes as the domain does
(``hduce.domain.check_in_codes``; copied here so this revision never changes).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
BATCH = 1000


def _code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("registered_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("registered_by", GUID(), nullable=True),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_seen_at", DateTimeUTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["registered_by"],
            ["users.id"],
            name=op.f("fk_devices_registered_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )

    op.add_column("appointments", sa.Column("check_in_code", sa.String(length=16)))
    bind = op.get_bind()
    appointments = sa.table(
        "appointments", sa.column("id", GUID()), sa.column("check_in_code", sa.String)
    )
    used: set[str] = set()
    while True:
        ids = (
            bind.execute(
                sa.select(appointments.c.id)
                .where(appointments.c.check_in_code.is_(None))
                .limit(BATCH)
            )
            .scalars()
            .all()
        )
        if not ids:
            break
        for appointment_id in ids:
            code = _code()
            while code in used:  # no two rows of the backfill share one
                code = _code()
            used.add(code)
            bind.execute(
                appointments.update()
                .where(appointments.c.id == appointment_id)
                .values(check_in_code=code)
            )
    op.create_index("ix_appointments_check_in_code", "appointments", ["check_in_code"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_appointments_check_in_code", table_name="appointments")
    # Plain ALTER TABLE on both (SQLite 3.35+): a batch rebuild of appointments would
    # fire the ON DELETE actions of the rows referencing it (see 0006).
    op.execute("ALTER TABLE appointments DROP COLUMN check_in_code")
    op.drop_table("devices")
