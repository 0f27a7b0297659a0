"""Users: emails stored in the one spelling accounts are looked up by (NFKC, case folded).

Revision ID: 0005
Revises: 0004
Create Date: 2025-01-04 00:00:00

Emails used to be stored lower-cased only; ``normalise_email`` now also folds Unicode
compatibility forms and case (``ＡＮＡ@example.org`` is ``ana@example.org``,
``Straße`` is ``strasse``). Rows written before are brought to that spelling, else
their owners could no longer sign in. ASCII addresses do not change. A row whose new
spelling belongs to another account already (or to an older row brought to it first)
keeps its old one, and a warning names it: an administrator decides which account
keeps the address.

The normalisation is copied here on purpose: a migration must do what it did when
it was written, whatever the domain says later.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_log = logging.getLogger("alembic.runtime.migration")


def _spelling(email: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email).casefold())
    return folded.lower().strip()


def upgrade() -> None:
    bind = op.get_bind()
    users = sa.table("users", sa.column("id"), sa.column("email"), sa.column("created_at"))
    rows = bind.execute(
        sa.select(users.c.id, users.c.email).order_by(users.c.created_at, users.c.id)
    ).all()
    taken = {email for _, email in rows}
    for user_id, email in rows:
        spelling = _spelling(email)
        if spelling == email:
            continue
        if spelling in taken:
            _log.warning(
                "user %s keeps the email %r: %r belongs to another account",
                user_id,
                email,
                spelling,
            )
            continue
        bind.execute(users.update().where(users.c.id == user_id).values(email=spelling))
        taken.discard(email)
        taken.add(spelling)


def downgrade() -> None:
    pass  # the old spellings are gone, and the new ones are valid for the old code too
