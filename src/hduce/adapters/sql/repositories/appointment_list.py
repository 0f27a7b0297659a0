""" "List appointments": the filters, and one page with its total and its histories in
one statement.

The page is read in Core, whatever its size, as one round trip::

    SELECT page.*, h.position, h.from_status, ... FROM (
        SELECT appointments.*, count(*) OVER () AS total_rows FROM appointments
        WHERE <filters> ORDER BY starts_at, id LIMIT :limit OFFSET :offset
    ) AS page
    LEFT OUTER JOIN appointment_status_history AS h ON h.appointment_id = page.id
    ORDER BY page.starts_at, page.id, h.position

The window count is computed over the filtered rows before LIMIT, so every row carries
the total; the history lines follow the page (through the history's primary key), one
row per line, those of one appointment next to each other. A page past the end (no row
to carry the total) costs a second statement, the count.

The statements are built once per combination of filters, with bound parameters. A new
filter (say ``institution_id``): its field on ``AppointmentQuery``, a flag in ``Filters``,
its value in ``filter_values`` and its ``WHERE`` clause (on a ``bindparam`` of that name)
in ``_where``; the page and the count both start from it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple
from uuid import UUID

import msgspec
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import AppointmentRow, StatusHistoryRow
from hduce.adapters.sql.repositories._support import (
    DriverStatement,
    clamp,
    count,
    dialect_name,
    execute_core,
    table,
)
from hduce.adapters.sql.types import GUID, DateTimeUTC
from hduce.application.ports import AppointmentQuery, ListedAppointment, ListedStatusChange, Page
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.identity import Role

_ORDER: Final = (AppointmentRow.starts_at, AppointmentRow.id)


class HistoryLine(NamedTuple):
    """One line of an appointment's status history, as stored."""

    from_status: str | None
    to_status: str
    at: datetime
    actor_role: str
    actor_id: UUID | None
    reason: str | None


#: The history columns of a page row, each labelled ``h_<name>``.
_HISTORY_LINE: Final = ("position", *HistoryLine._fields)


class Filters(NamedTuple):
    """Which filters of ``AppointmentQuery`` a query uses: the statements are built once
    per combination, with bound parameters (``filter_values`` gives them), because
    building a SELECT with a subquery and a join, and its cache key, cost SQLAlchemy
    more CPU than reading the page."""

    patient: bool
    doctor: bool
    statuses: bool
    starts_from: bool
    starts_before: bool
    institution: bool


def filter_values(query: AppointmentQuery) -> tuple[Filters, dict[str, Any]]:
    """The filters ``query`` uses, and the values of their parameters."""
    values: dict[str, Any] = {}
    if query.patient_id is not None:
        values["patient_id"] = query.patient_id
    if query.doctor_id is not None:
        values["doctor_id"] = query.doctor_id
    if query.statuses is not None:
        values["statuses"] = sorted(status.value for status in query.statuses)
    if query.starts_from is not None:
        values["starts_from"] = query.starts_from
    if query.starts_before is not None:
        values["starts_before"] = query.starts_before
    if query.institution_id is not None:
        values["institution_id"] = query.institution_id
    filters = Filters(
        "patient_id" in values,
        "doctor_id" in values,
        "statuses" in values,
        "starts_from" in values,
        "starts_before" in values,
        "institution_id" in values,
    )
    return filters, values


def _where(statement: Select[Any], filters: Filters) -> Select[Any]:
    if filters.patient:
        statement = statement.where(AppointmentRow.patient_id == bindparam("patient_id"))
    if filters.doctor:
        statement = statement.where(AppointmentRow.doctor_id == bindparam("doctor_id"))
    if filters.statuses:
        statement = statement.where(
            AppointmentRow.status.in_(bindparam("statuses", expanding=True))
        )
    if filters.starts_from:
        statement = statement.where(AppointmentRow.starts_at >= bindparam("starts_from"))
    if filters.starts_before:
        statement = statement.where(AppointmentRow.starts_at < bindparam("starts_before"))
    if filters.institution:
        statement = statement.where(AppointmentRow.institution_id == bindparam("institution_id"))
    return statement


@functools.lru_cache(maxsize=64)
def _filtered(filters: Filters) -> Select[Any]:
    return _where(select(AppointmentRow), filters)


def list_statement(query: AppointmentQuery) -> Select[AppointmentRow]:
    """Filters of "list appointments" (unpaginated, unsorted), with their values bound:
    what the page and its count are built from."""
    filters, values = filter_values(query)
    return _filtered(filters).params(values)


def _page_rows(filters: Filters) -> Select[Any]:
    """Every column of the appointments of one page, sorted by start then id, and the
    number of rows of the whole filter as ``total_rows`` (a window count, computed
    before LIMIT); ``limit`` and ``offset`` are parameters too."""
    return (
        _filtered(filters)
        .with_only_columns(*table(AppointmentRow).c, func.count().over().label("total_rows"))
        .order_by(*_ORDER)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


@functools.lru_cache(maxsize=64)
def _page_statement(filters: Filters) -> Select[Any]:
    page = _page_rows(filters).subquery("page")
    history = table(StatusHistoryRow)
    return (
        select(
            *page.c,
            *(history.c[name].label(f"h_{name}") for name in _HISTORY_LINE),
        )
        .select_from(page.outerjoin(history, history.c.appointment_id == page.c.id))
        .order_by(page.c.starts_at, page.c.id, history.c.position)
    )


def list_page_statement(query: AppointmentQuery, limit: int, offset: int) -> Select[Any]:
    """One page of "list appointments" with its total and its history lines, values
    bound: one row per history line (``h_*`` columns; NULL for an appointment without
    any), in page order."""
    filters, values = filter_values(query)
    return _page_statement(filters).params(values, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class ListedRows:
    """A page as read: each appointment's Core row with its history lines (in order),
    the total of the filter, and the page bounds."""

    appointments: Sequence[tuple[Any, list[HistoryLine]]]
    total: int
    limit: int
    offset: int


async def read_page(session: AsyncSession, query: AppointmentQuery) -> ListedRows:
    """The page ``query`` asks for, in one statement (two for a page past the end)."""
    limit, offset = clamp(query.page)
    if not limit:
        return ListedRows((), await count(session, list_statement(query)), limit, offset)
    filters, values = filter_values(query)
    values.update(limit=limit, offset=offset)
    rows = (await session.execute(_page_statement(filters), values)).all()
    if not rows:
        # No row to carry the count: nothing matches, or a page past the end.
        total = await count(session, list_statement(query)) if offset else 0
        return ListedRows((), total, limit, offset)
    appointments: list[tuple[Any, list[HistoryLine]]] = []
    current_id = None
    lines: list[HistoryLine] = []
    for row in rows:
        if row.id != current_id:
            current_id = row.id
            lines = []
            appointments.append((row, lines))
        if row.h_position is not None:
            lines.append(
                HistoryLine(
                    row.h_from_status,
                    row.h_to_status,
                    row.h_at,
                    row.h_actor_role,
                    row.h_actor_id,
                    row.h_reason,
                )
            )
    return ListedRows(appointments, int(rows[0].total_rows), limit, offset)


# ------------------------------------------------------------------ the read model

#: The appointment columns a listed appointment shows, in the order of
#: ``ListedAppointment`` (the blocked range gives the buffers).
_LISTED: Final = (
    "id",
    "patient_id",
    "doctor_id",
    "starts_at",
    "ends_at",
    "status",
    "reason",
    "doctor_notes",
    "cancelled_by",
    "cancellation_reason",
    "rejection_reason",
    "replaces",
    "check_in_code",
    "version",
    "created_at",
    "updated_at",
    "visit_type_id",
    "blocked_starts_at",
    "blocked_ends_at",
    "institution_id",
)
#: The history columns of a listed line (``to_status`` is NULL only without a line).
_LISTED_LINE: Final = ("from_status", "to_status", "at", "actor_role", "reason")

_STATUSES: Final = {status.value: status for status in AppointmentStatus}
_ROLES: Final = {role.value: role for role in Role}


def _as_driver_returns(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` without its ``TypeDecorator``'s result processing, where asyncpg
    already returns the value as the decorator would (``uuid.UUID``s, and aware UTC
    datetimes for ``timestamptz``): a page of 20 with 60 history lines otherwise calls
    some 780 processors that return their argument."""
    kind = column.type
    if isinstance(kind, GUID):
        return type_coerce(column, PG_UUID(as_uuid=True)).label(column.name)
    if isinstance(kind, DateTimeUTC):
        return type_coerce(column, DateTime(timezone=True)).label(column.name)
    return column


@functools.lru_cache(maxsize=64)
def _listed_joined(filters: Filters) -> Select[Any]:
    """SQLite: the page of ``_page_statement`` with only the columns a listed appointment
    shows, one row per history line (``h_*``; NULL for an appointment without any)."""
    page = _page_rows(filters).subquery("page")
    history = table(StatusHistoryRow)
    return (
        select(
            *(page.c[name] for name in _LISTED),
            page.c.total_rows,
            *(history.c[name].label(f"h_{name}") for name in _LISTED_LINE),
        )
        .select_from(page.outerjoin(history, history.c.appointment_id == page.c.id))
        .order_by(page.c.starts_at, page.c.id, history.c.position)
    )


#: A history line's instant as JSON text in UTC with microseconds, whatever the
#: session's ``TimeZone`` (``json_build_object`` would write it in that zone).
_UTC_INSTANT: Final = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


@functools.lru_cache(maxsize=64)
def _listed_aggregated(filters: Filters) -> Select[Any] | DriverStatement:
    """PostgreSQL: the page's statement (``_aggregated``). Compiled once and sent as the
    driver's SQL (``DriverStatement``, typed rows: asyncpg returns the values the column
    types would give), without SQLAlchemy's compile-cache lookup and parameter set-up
    per page. A filter on statuses (an ``IN`` of as many values as given) cannot be
    precompiled: that page is a Core statement, its values as asyncpg returns them
    (``_as_driver_returns``)."""
    if filters.statuses:
        return _aggregated(filters, _as_driver_returns)
    return DriverStatement(_aggregated(filters, lambda column: column), typed_rows=True)


def _aggregated(
    filters: Filters, returned: Callable[[ColumnElement[Any]], ColumnElement[Any]]
) -> Select[Any]:
    """PostgreSQL: one row per appointment of the page, its history lines aggregated
    (``json_agg``, in order; NULL without any) into a JSON text ``history``, the page's
    columns through ``returned``. A page of 20 with 60 lines is 20
    rows on the wire instead of 60 that repeat the appointment's columns."""
    page = _page_rows(filters).subquery("page")
    line = table(StatusHistoryRow).alias("h")
    history = (
        select(
            cast(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_object(
                            "from_status",
                            line.c.from_status,
                            "to_status",
                            line.c.to_status,
                            "at",
                            func.to_char(func.timezone("UTC", line.c.at), _UTC_INSTANT),
                            "actor_role",
                            line.c.actor_role,
                            "reason",
                            line.c.reason,
                        ),
                        line.c.position,
                    )
                ),
                Text,
            )
        )
        .where(line.c.appointment_id == page.c.id)
        .scalar_subquery()
        .label("history")
    )
    return select(
        *(returned(page.c[name]) for name in _LISTED),
        page.c.total_rows,
        history,
    ).order_by(page.c.starts_at, page.c.id)


#: The aggregated history of ``_listed_aggregated``, decoded straight into its lines.
_HISTORY_JSON: Final = msgspec.json.Decoder(list[ListedStatusChange])

_MINUTE: Final = timedelta(minutes=1)


def _listed(row: Any, history: list[ListedStatusChange]) -> ListedAppointment:
    """A listed appointment from the first columns of ``row`` (``_LISTED``'s)."""
    (
        id_,
        patient_id,
        doctor_id,
        starts_at,
        ends_at,
        status,
        reason,
        doctor_notes,
        cancelled_by,
        cancellation_reason,
        rejection_reason,
        replaces,
        check_in_code,
        version,
        created_at,
        updated_at,
        visit_type_id,
        blocked_starts_at,
        blocked_ends_at,
        institution_id,
    ) = row[:20]
    return ListedAppointment(
        id_,
        patient_id,
        doctor_id,
        starts_at,
        ends_at,
        _STATUSES[status],
        reason,
        doctor_notes,
        _ROLES[cancelled_by] if cancelled_by else None,
        cancellation_reason,
        rejection_reason,
        replaces,
        check_in_code,
        version,
        created_at,
        updated_at,
        visit_type_id,
        # Whole minutes, rounded down (as ``AppointmentView.of`` counts the buffers).
        (starts_at - blocked_starts_at) // _MINUTE,
        (blocked_ends_at - ends_at) // _MINUTE,
        institution_id,
        history,
    )


def _from_joined(rows: Sequence[Any]) -> list[ListedAppointment]:
    items: list[ListedAppointment] = []
    current_id = None
    history: list[ListedStatusChange] = []
    statuses, roles = _STATUSES, _ROLES
    for row in rows:
        if row[0] != current_id:
            current_id = row[0]
            history = []
            items.append(_listed(row, history))
        _total, from_status, to_status, at, actor_role, line_reason = row[20:]
        if to_status is not None:
            history.append(
                ListedStatusChange(
                    statuses[from_status] if from_status else None,
                    statuses[to_status],
                    at,
                    roles[actor_role],
                    line_reason,
                )
            )
    return items


async def read_listed(session: AsyncSession, query: AppointmentQuery) -> Page[ListedAppointment]:
    """The page ``query`` asks for, straight into ``ListedAppointment``s (the same rows,
    order and total as ``read_page``), in one statement (two for a page past the end)."""
    limit, offset = clamp(query.page)
    if not limit:
        return Page([], await count(session, list_statement(query)), limit, offset)
    filters, values = filter_values(query)
    values.update(limit=limit, offset=offset)
    aggregated = dialect_name(session) == "postgresql"
    statement = _listed_aggregated(filters) if aggregated else _listed_joined(filters)
    # Core on the session's connection: no ORM set-up per statement (``execute_core``).
    rows = (await execute_core(session, statement, values)).all()
    if not rows:
        total = await count(session, list_statement(query)) if offset else 0
        return Page([], total, limit, offset)
    if aggregated:
        decode = _HISTORY_JSON.decode
        items = [_listed(row, decode(row[21]) if row[21] else []) for row in rows]
    else:
        items = _from_joined(rows)
    return Page(items, int(rows[0].total_rows), limit, offset)
