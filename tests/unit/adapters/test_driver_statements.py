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
from hduce.adapters.sql.repositories.appointment_list import Filters, _listed_aggregated
from hduce.adapters.sql.repositories.appointments import _occupying_overlapping_driver_statement
from hduce.adapters.sql.repositories.availability import _booking_driver_statement
from hduce.adapters.sql.repositories.users import _BY_ID
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


def test_an_account_by_id_is_read_from_driver_sql_with_its_opt_outs_as_json_text() -> None:
    form = _BY_ID.compiled_for(POSTGRESQL)
    assert form.names == ("user_id",)
    assert "CAST(users.notification_opt_outs AS TEXT) AS notification_opt_outs" in form.sql
    user_id = uuid4()
    assert form.positional({"user_id": user_id}) == (user_id,)


def test_a_list_page_is_precompiled_unless_it_filters_on_statuses() -> None:
    by_patient = Filters(True, False, False, False, False, False)
    page = _listed_aggregated(by_patient)
    assert isinstance(page, DriverStatement)
    form = page.compiled_for(POSTGRESQL)
    patient_id = uuid4()
    sent = form.positional({"patient_id": patient_id, "limit": 20, "offset": 40})
    # The other parameters are the statement's own (the history's JSON keys, its format).
    assert [value for value in sent if value in (patient_id, 20, 40)] == [patient_id, 20, 40]
    assert "to_status" in sent
    # An IN of as many values as given: compiled per execution, as a Core statement.
    assert not isinstance(_listed_aggregated(by_patient._replace(statuses=True)), DriverStatement)
