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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple
from uuid import UUID

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import AppointmentRow, StatusHistoryRow
from hduce.adapters.sql.repositories._support import clamp, count, table
from hduce.application.ports import AppointmentQuery

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
