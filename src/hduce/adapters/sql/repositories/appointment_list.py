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

A new filter goes in ``list_statement`` (a ``WHERE`` on ``appointments``; the page and
the count both start from it), with its field on ``AppointmentQuery``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple
from uuid import UUID

from sqlalchemy import Select, func, select
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


def list_statement(query: AppointmentQuery) -> Select[AppointmentRow]:
    """Filters of "list appointments" (unpaginated, unsorted): the page and its count
    are built from it."""
    statement = select(AppointmentRow)
    if query.patient_id is not None:
        statement = statement.where(AppointmentRow.patient_id == query.patient_id)
    if query.doctor_id is not None:
        statement = statement.where(AppointmentRow.doctor_id == query.doctor_id)
    if query.statuses is not None:
        statement = statement.where(
            AppointmentRow.status.in_(sorted(status.value for status in query.statuses))
        )
    if query.starts_from is not None:
        statement = statement.where(AppointmentRow.starts_at >= query.starts_from)
    if query.starts_before is not None:
        statement = statement.where(AppointmentRow.starts_at < query.starts_before)
    return statement


def page_rows_statement(query: AppointmentQuery, limit: int, offset: int) -> Select[Any]:
    """The page alone: every column of the appointments of one page, sorted by start
    then id, and the number of rows of the whole filter as ``total_rows`` (a window
    count, computed before LIMIT)."""
    return (
        list_statement(query)
        .with_only_columns(*table(AppointmentRow).c, func.count().over().label("total_rows"))
        .order_by(*_ORDER)
        .limit(limit)
        .offset(offset)
    )


def list_page_statement(query: AppointmentQuery, limit: int, offset: int) -> Select[Any]:
    """One page of "list appointments" with its total and its history lines: one row per
    history line (``h_*`` columns; NULL for an appointment without any), in page order."""
    page = page_rows_statement(query, limit, offset).subquery("page")
    history = table(StatusHistoryRow)
    return (
        select(
            *page.c,
            *(history.c[name].label(f"h_{name}") for name in _HISTORY_LINE),
        )
        .select_from(page.outerjoin(history, history.c.appointment_id == page.c.id))
        .order_by(page.c.starts_at, page.c.id, history.c.position)
    )


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
    rows = (await session.execute(list_page_statement(query, limit, offset))).all()
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
