"""``DriverStatement``: what the booking's precompiled statements send to asyncpg and
which rows they may hand back untyped (no database needed: compiled forms only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from sqlalchemy import bindparam, literal_column, select
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.dialects.sqlite import aiosqlite

from hduce.adapters.sql.models import AppointmentRow
from hduce.adapters.sql.repositories._support import DriverStatement
from hduce.adapters.sql.repositories.appointments import _occupying_overlapping_driver_statement
from hduce.adapters.sql.repositories.availability import _booking_driver_statement
from hduce.adapters.sql.types import ExactDecimal

POSTGRESQL = asyncpg.dialect()
SQLITE = aiosqlite.dialect()


def test_the_bookings_statements_read_rows_asyncpg_returns_as_their_types_would() -> None:
    for statement in (_booking_driver_statement(), _occupying_overlapping_driver_statement()):
        form = statement.compiled_for(POSTGRESQL)
        placeholders = {int(number) for number in re.findall(r"\$(\d+)", form.sql)}
        assert placeholders == set(range(1, len(form.names) + 1))


def test_rows_a_column_type_would_change_are_not_read_from_driver_sql() -> None:
    money = DriverStatement(select(literal_column("1.10", type_=ExactDecimal())), typed_rows=True)
    with pytest.raises(ValueError, match="would change the driver"):
        money.compiled_for(POSTGRESQL)


def test_typed_rows_are_never_read_from_sqlite_driver_sql() -> None:
    # GUIDs come back as 16 bytes there: the Core execution (``_send``) types them.
    with pytest.raises(ValueError, match="PostgreSQL only"):
        _occupying_overlapping_driver_statement().compiled_for(SQLITE)


def test_instants_and_ids_go_to_asyncpg_as_they_are_and_naive_instants_are_refused() -> None:
    statement = DriverStatement(
        select(AppointmentRow.id).where(
            AppointmentRow.id == bindparam("id", type_=AppointmentRow.id.type),
            AppointmentRow.starts_at > bindparam("after", type_=AppointmentRow.starts_at.type),
        )
    )
    form = statement.compiled_for(POSTGRESQL)
    appointment_id = uuid4()
    east = datetime(2030, 1, 1, 9, tzinfo=timezone(timedelta(hours=3)))
    sent = dict(
        zip(form.names, form.positional({"id": appointment_id, "after": east}), strict=True)
    )
    assert sent["id"] is appointment_id
    assert sent["after"] is east  # the same instant; asyncpg converts it to UTC itself
    assert form.positional({"id": str(appointment_id), "after": None})[
        form.names.index("id")
    ] == str(appointment_id)
    with pytest.raises(TypeError, match="tzinfo is required"):
        form.positional({"id": appointment_id, "after": datetime(2030, 1, 1, 9)})
    assert form.positional({"id": appointment_id, "after": datetime(2030, 1, 1, tzinfo=UTC)})
