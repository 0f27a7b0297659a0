"""Waitlist: entries of patients waiting for a doctor's window, and offers of freed slots.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 07:10:00

``uq_waitlist_offers_live_slot`` is a partial unique index: at most one live offer
(offered or being accepted) per (doctor, slot start), on PostgreSQL and SQLite alike,
so two workers handling two events that free the same slot cannot both offer it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "status IN ('accepting', 'offered')"


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("patient_id", GUID(), nullable=False),
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("window_start", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("window_end", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("visit_type", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_doctor_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index(
        "ix_waitlist_entries_waiting",
        "waitlist_entries",
        ["doctor_id", "created_at"],
        postgresql_where=sa.text("status = 'waiting'"),
        sqlite_where=sa.text("status = 'waiting'"),
    )
    op.create_index("ix_waitlist_entries_patient_id", "waitlist_entries", ["patient_id"])
    op.create_table(
        "waitlist_offers",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("entry_id", GUID(), nullable=False),
        sa.Column("patient_id", GUID(), nullable=False),
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appointment_id", GUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_waitlist_offers_entry_id_waitlist_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_waitlist_offers_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["users.id"],
            name=op.f("fk_waitlist_offers_doctor_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
    )
    op.create_index(
        "uq_waitlist_offers_live_slot",
        "waitlist_offers",
        ["doctor_id", "starts_at"],
        unique=True,
        postgresql_where=sa.text(_LIVE),
        sqlite_where=sa.text(_LIVE),
    )
    op.create_index(
        "ix_waitlist_offers_open_expires_at",
        "waitlist_offers",
        ["expires_at"],
        postgresql_where=sa.text("status = 'offered'"),
        sqlite_where=sa.text("status = 'offered'"),
    )
    op.create_index("ix_waitlist_offers_patient_id", "waitlist_offers", ["patient_id"])


def downgrade() -> None:
    op.drop_table("waitlist_offers")
    op.drop_table("waitlist_entries")
