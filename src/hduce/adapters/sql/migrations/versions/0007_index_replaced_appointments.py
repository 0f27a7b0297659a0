"""Appointments: an index on ``replaces`` (the appointment a reschedule replaced).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 00:00:00

``replaces`` references ``appointments.id`` with ON DELETE SET NULL, so deleting an
appointment (the retention sweep, an admin's purge) has the database look for the rows
that point at it. Without an index that is a scan of the whole table per deleted row:
at a million appointments a delete crawls. Few rows replace another, so the index is
partial (``WHERE replaces IS NOT NULL``): it stays small and still serves the lookup,
whose ``replaces = <id>`` implies the predicate.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_appointments_replaces"
PREDICATE = sa.text("replaces IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        INDEX,
        "appointments",
        ["replaces"],
        postgresql_where=PREDICATE,
        sqlite_where=PREDICATE,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="appointments")
