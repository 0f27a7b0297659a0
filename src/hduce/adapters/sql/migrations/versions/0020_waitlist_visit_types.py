"""The waitlist's visit type counts: entries name one of the doctor's visit types,
offers remember which appointment freed their slot.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 09:50:00

``waitlist_entries.visit_type_id``: the visit type wanted (NULL: any visit, the freed
slot as it is, as for every existing entry). No foreign key, like
``appointments.visit_type_id``: a doctor may delete a type, and the entry then matches
no freed slot. ``waitlist_offers.freed_appointment_id``: the appointment whose
cancellation (rejection, no-show) freed the slot, so that an offer passed on is
measured against the same freed time (NULL for existing offers: their own slot).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: ALTER TABLE ADD COLUMN on both databases, no table rewrite.
    op.add_column("waitlist_entries", sa.Column("visit_type_id", GUID(), nullable=True))
    op.add_column("waitlist_offers", sa.Column("freed_appointment_id", GUID(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode (see 0003).
    op.drop_column("waitlist_offers", "freed_appointment_id")
    op.drop_column("waitlist_entries", "visit_type_id")
