"""Visit types, and the blocked range (visit plus buffers) of every appointment.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 07:00:00

``visit_types`` holds a doctor's kinds of visit and their booking rules. Each
appointment gets ``blocked_starts_at``/``blocked_ends_at`` (the doctor's time it
takes: the visit and its buffers; the visit itself for every existing row) and the
``visit_type_id`` it was booked for. On PostgreSQL the doctor's exclusion constraint
is rebuilt on the blocked range (docs/decisions/0020-visit-types-and-buffers.md); the
patient's stays on the visit.

SQLite cannot add a NOT NULL column without a default: the columns are added with a
placeholder default, filled from the visit, and the default is never used again (the
application writes both columns). PostgreSQL adds them nullable, fills them, then sets
NOT NULL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OCCUPYING = "status IN ('approved', 'checked_in', 'pending', 'proposed')"
DOCTOR_CONSTRAINT = "ex_appointments_doctor_id_overlap"


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _doctor_constraint(start: str, end: str) -> None:
    op.execute(f"ALTER TABLE appointments DROP CONSTRAINT {DOCTOR_CONSTRAINT}")
    op.execute(
        f"ALTER TABLE appointments ADD CONSTRAINT {DOCTOR_CONSTRAINT} "
        f"EXCLUDE USING gist (doctor_id WITH =, tstzrange({start}, {end}, '[)') WITH &&) "
        f"WHERE ({OCCUPYING})"
    )


def upgrade() -> None:
    op.create_table(
        "visit_types",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("duration_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("buffer_before_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("buffer_after_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("booking_horizon_days", sa.SmallInteger(), nullable=False),
        sa.Column("minimum_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 5 AND 480", name=op.f("ck_visit_types_duration_minutes")
        ),
        sa.CheckConstraint(
            "buffer_before_minutes BETWEEN 0 AND 120",
            name=op.f("ck_visit_types_buffer_before_minutes"),
        ),
        sa.CheckConstraint(
            "buffer_after_minutes BETWEEN 0 AND 120",
            name=op.f("ck_visit_types_buffer_after_minutes"),
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.user_id"],
            name=op.f("fk_visit_types_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_types")),
    )
    op.create_index("ix_visit_types_doctor_id", "visit_types", ["doctor_id"])
    op.add_column("appointments", sa.Column("visit_type_id", GUID(), nullable=True))
    if is_postgresql():
        for column in ("blocked_starts_at", "blocked_ends_at"):
            op.add_column(
                "appointments", sa.Column(column, DateTimeUTC(timezone=True), nullable=True)
            )
        op.execute(
            "UPDATE appointments SET blocked_starts_at = starts_at, blocked_ends_at = ends_at"
        )
        for column in ("blocked_starts_at", "blocked_ends_at"):
            op.alter_column("appointments", column, nullable=False)
        _doctor_constraint("blocked_starts_at", "blocked_ends_at")
    else:
        for column in ("blocked_starts_at", "blocked_ends_at"):
            op.add_column(
                "appointments",
                sa.Column(
                    column,
                    DateTimeUTC(timezone=True),
                    nullable=False,
                    server_default=sa.text("'1970-01-01 00:00:00.000000'"),
                ),
            )
        op.execute(
            "UPDATE appointments SET blocked_starts_at = starts_at, blocked_ends_at = ends_at"
        )


def downgrade() -> None:
    if is_postgresql():
        _doctor_constraint("starts_at", "ends_at")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode (see 0003).
    for column in ("blocked_ends_at", "blocked_starts_at", "visit_type_id"):
        op.drop_column("appointments", column)
    op.drop_index("ix_visit_types_doctor_id", table_name="visit_types")
    op.drop_table("visit_types")
