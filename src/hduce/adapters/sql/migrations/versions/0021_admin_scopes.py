"""Admins scoped to an institution: ``users.admin_institution_id``.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 10:40:00

NULL: a global admin (every existing admin stays one) and every patient or doctor; else
the one institution the admin manages (docs/decisions/0026-admin-scopes.md). No foreign
key, like ``appointments.institution_id``: institutions are deactivated, never deleted,
the use case that sets a scope checks that the institution exists, and SQLite could not
add one without rebuilding the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: ALTER TABLE ADD COLUMN on both databases, no table rewrite.
    op.add_column("users", sa.Column("admin_institution_id", GUID(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode (see 0003).
    op.drop_column("users", "admin_institution_id")
