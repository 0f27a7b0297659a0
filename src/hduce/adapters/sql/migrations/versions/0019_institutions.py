"""Institutions: hospitals, clinics and sites, and who works where.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 09:30:00

``institutions`` holds the places (name, kind, postal address, IANA time zone, active
flag); ``doctor_institutions`` says which doctors work at which. Weekly and extra hours
get a nullable ``institution_id`` (NULL: unassigned, as every existing row stays), and
so do appointments: where the visit takes place, taken at booking from the hours that
cover the slot (docs/decisions/0025-institutions.md). Every new column is nullable with
no default, so no existing row is rewritten.

SQLite cannot add a foreign key with ALTER TABLE ... ADD CONSTRAINT; it accepts one in
the column definition of ADD COLUMN (a nullable column without default), so the hours'
columns are added by hand there. Appointments' column has no foreign key (as
``visit_type_id``): institutions are deactivated, never deleted, and the booking table
keeps no new constraint to check on its hot path.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOURS_TABLES = ("doctor_working_hours", "doctor_extra_hours")
ASSIGNED = "institution_id IS NOT NULL"


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('clinic', 'hospital', 'site')", name=op.f("ck_institutions_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions")),
    )
    op.create_index("ix_institutions_name", "institutions", ["name"])
    op.create_table(
        "doctor_institutions",
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("institution_id", GUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.user_id"],
            name=op.f("fk_doctor_institutions_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_doctor_institutions_institution_id_institutions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("doctor_id", "institution_id", name=op.f("pk_doctor_institutions")),
    )
    op.create_index(
        "ix_doctor_institutions_institution_id",
        "doctor_institutions",
        ["institution_id", "doctor_id"],
    )
    for table in HOURS_TABLES:
        name = f"fk_{table}_institution_id_institutions"
        if is_postgresql():
            op.add_column(table, sa.Column("institution_id", GUID(), nullable=True))
            op.create_foreign_key(name, table, "institutions", ["institution_id"], ["id"])
        else:
            column_type = GUID().compile(dialect=op.get_bind().dialect)
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN institution_id {column_type} "
                f"CONSTRAINT {name} REFERENCES institutions (id)"
            )
    op.add_column("appointments", sa.Column("institution_id", GUID(), nullable=True))
    op.create_index(
        "ix_appointments_institution_id_starts_at",
        "appointments",
        ["institution_id", "starts_at"],
        postgresql_where=sa.text(ASSIGNED),
        sqlite_where=sa.text(ASSIGNED),
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_institution_id_starts_at", table_name="appointments")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode (see 0003).
    op.drop_column("appointments", "institution_id")
    for table in HOURS_TABLES:
        if is_postgresql():
            op.drop_constraint(f"fk_{table}_institution_id_institutions", table, type_="foreignkey")
        op.drop_column(table, "institution_id")
    op.drop_index("ix_doctor_institutions_institution_id", table_name="doctor_institutions")
    op.drop_table("doctor_institutions")
    op.drop_index("ix_institutions_name", table_name="institutions")
    op.drop_table("institutions")
