"""Recurring series: the series as booked and the link of each occurrence.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 07:00:00

``appointment_series`` keeps the rule (canonical RRULE text), the first start on the
doctor's wall clock (ISO text: a local time without offset), the timezone and the visit
length. ``appointment_series_members`` links each occurrence (its 0-based position) to
its appointment, which is an ordinary ``appointments`` row; an appointment belongs to
at most one series.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointment_series",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("patient_id", GUID(), nullable=False),
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("first_local_start", sa.String(length=19), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("length_seconds", sa.Integer(), nullable=False),
        sa.Column("created_by", GUID(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_appointment_series_patient_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.user_id"],
            name=op.f("fk_appointment_series_doctor_id_doctors"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_series")),
    )
    op.create_index(op.f("ix_appointment_series_patient_id"), "appointment_series", ["patient_id"])
    op.create_index(op.f("ix_appointment_series_doctor_id"), "appointment_series", ["doctor_id"])
    op.create_table(
        "appointment_series_members",
        sa.Column("series_id", GUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("appointment_id", GUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["appointment_series.id"],
            name=op.f("fk_appointment_series_members_series_id_appointment_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_appointment_series_members_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "series_id", "position", name=op.f("pk_appointment_series_members")
        ),
        sa.UniqueConstraint(
            "appointment_id", name=op.f("uq_appointment_series_members_appointment_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("appointment_series_members")
    op.drop_index(op.f("ix_appointment_series_doctor_id"), table_name="appointment_series")
    op.drop_index(op.f("ix_appointment_series_patient_id"), table_name="appointment_series")
    op.drop_table("appointment_series")
