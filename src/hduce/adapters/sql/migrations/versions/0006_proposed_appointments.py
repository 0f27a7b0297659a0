"""Appointments: the PROPOSED status (a doctor's booking the patient accepts or declines).

Revision ID: 0006
Revises: 0005
Create Date: 2025-01-03 00:00:00

A proposal holds its slot, so ``proposed`` joins the occupying statuses everywhere
they are spelt out: the status CHECK, the WHERE of the three partial indexes and, on
PostgreSQL, of the two exclusion constraints that refuse overlaps.

SQLite cannot alter a CHECK in place: the table is rebuilt from its own stored DDL
(only the status list changes). The migration runs in one transaction, where
``PRAGMA foreign_keys`` cannot be turned off, and ``DROP TABLE`` then deletes the old
rows first, firing the ON DELETE actions of the rows that reference them (the
history: CASCADE, ``replaces``: SET NULL); both are kept aside and put back.

Downgrade: the old code knows no ``proposed``. Open proposals become ``pending``
(requests the doctor may approve: what a doctor's booking was before, short of being
approved at once), and history lines naming ``proposed`` name ``pending`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The WHERE of the exclusion constraints and the partial indexes, before and after.
OCCUPYING_BEFORE = "status IN ('approved', 'checked_in', 'pending')"
OCCUPYING_AFTER = "status IN ('approved', 'checked_in', 'pending', 'proposed')"

#: The status CHECK, before and after.
STATUSES_BEFORE = (
    "status IN ('approved', 'cancelled', 'checked_in', 'completed', "
    "'entered_in_error', 'no_show', 'pending', 'rejected')"
)
STATUSES_AFTER = (
    "status IN ('approved', 'cancelled', 'checked_in', 'completed', "
    "'entered_in_error', 'no_show', 'pending', 'proposed', 'rejected')"
)

#: name -> columns of the partial indexes on occupying rows.
PARTIAL_INDEXES = {
    "ix_appointments_doctor_id_occupying": "doctor_id, ends_at",
    "ix_appointments_patient_id_occupying": "patient_id, ends_at",
    "ix_appointments_occupying_starts_at": "starts_at",
}


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    _change_statuses(
        statuses=(STATUSES_BEFORE, STATUSES_AFTER), occupying=(OCCUPYING_BEFORE, OCCUPYING_AFTER)
    )


def downgrade() -> None:
    op.execute("UPDATE appointments SET status = 'pending' WHERE status = 'proposed'")
    op.execute(
        "UPDATE appointment_status_history SET from_status = 'pending'"
        " WHERE from_status = 'proposed'"
    )
    op.execute(
        "UPDATE appointment_status_history SET to_status = 'pending' WHERE to_status = 'proposed'"
    )
    _change_statuses(
        statuses=(STATUSES_AFTER, STATUSES_BEFORE), occupying=(OCCUPYING_AFTER, OCCUPYING_BEFORE)
    )


def _change_statuses(*, statuses: tuple[str, str], occupying: tuple[str, str]) -> None:
    if is_postgresql():
        _change_on_postgresql(statuses[1], occupying[1])
    else:
        _change_on_sqlite(statuses, occupying)


def _change_on_postgresql(statuses: str, occupying: str) -> None:
    op.execute("ALTER TABLE appointments DROP CONSTRAINT ck_appointments_status")
    op.execute(f"ALTER TABLE appointments ADD CONSTRAINT ck_appointments_status CHECK ({statuses})")
    for name, columns in PARTIAL_INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON appointments ({columns}) WHERE {occupying}")
    for column in ("doctor_id", "patient_id"):
        name = f"ex_appointments_{column}_overlap"
        op.execute(f"ALTER TABLE appointments DROP CONSTRAINT {name}")
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT {name} "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            f"WHERE ({occupying})"
        )


def _change_on_sqlite(statuses: tuple[str, str], occupying: tuple[str, str]) -> None:
    bind = op.get_bind()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'appointments'"
    ).scalar_one()
    index_sql = list(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'appointments' AND sql IS NOT NULL"
        ).scalars()
    )
    if f"CHECK ({statuses[0]})" not in table_sql:
        raise RuntimeError(f"appointments has no CHECK ({statuses[0]}): {table_sql}")
    # Kept aside: the rows DROP TABLE's implicit DELETE would delete or change.
    op.execute("CREATE TEMP TABLE _kept_history AS SELECT * FROM appointment_status_history")
    op.execute(
        "CREATE TEMP TABLE _kept_replaces AS"
        " SELECT id, replaces FROM appointments WHERE replaces IS NOT NULL"
    )
    # SQLite stores the DDL as written, or with the name quoted once a table was renamed.
    new_table_sql, renamed = re.subn(
        r'^CREATE TABLE "?appointments"?', "CREATE TABLE _appointments_new", table_sql
    )
    if renamed != 1:
        raise RuntimeError(f"unexpected DDL of appointments: {table_sql}")
    op.execute(new_table_sql.replace(f"CHECK ({statuses[0]})", f"CHECK ({statuses[1]})"))
    op.execute("INSERT INTO _appointments_new SELECT * FROM appointments")
    op.execute("DROP TABLE appointments")  # its indexes go with it
    op.execute("ALTER TABLE _appointments_new RENAME TO appointments")
    for sql in index_sql:
        op.execute(sql.replace(f"WHERE {occupying[0]}", f"WHERE {occupying[1]}"))
    op.execute("DELETE FROM appointment_status_history")  # emptied by the cascade already
    op.execute("INSERT INTO appointment_status_history SELECT * FROM _kept_history")
    op.execute(
        "UPDATE appointments SET replaces ="
        " (SELECT kept.replaces FROM _kept_replaces AS kept WHERE kept.id = appointments.id)"
        " WHERE id IN (SELECT id FROM _kept_replaces)"
    )
    op.execute("DROP TABLE _kept_history")
    op.execute("DROP TABLE _kept_replaces")
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"foreign keys broken by the rebuild: {broken}")
