"""Appointments: race-free writes, optimistic locking, append-only history.

Race freedom is the database's job, not this module's alone:

* PostgreSQL: two ``EXCLUDE USING gist`` constraints refuse a second occupying
  appointment overlapping the same doctor or patient, even when both transactions
  checked "free" at the same moment. A new appointment goes in with ``INSERT ... ON
  CONFLICT DO NOTHING``: the constraints are its arbiters, so a refused row is no
  error (the transaction lives on, no savepoint needed) and PostgreSQL's speculative
  insertion waits for a racing transaction instead of deadlocking with it (no advisory
  lock needed). No row back means refused: a follow-up query names the appointments
  it collided with (``SlotConflict``). An UPDATE cannot take ``ON CONFLICT``; should
  one ever break the rule (23P01), the transaction is rolled back and the same
  ``SlotConflict`` raised.
* SQLite: there is one writer at a time. A ``serialized`` unit of work holds the write
  lock from its first statement (``BEGIN IMMEDIATE``), so the use case's "read
  overlaps, then insert" is atomic; and every guarded write here opens its savepoint,
  which takes the write lock (see ``engine``), and re-checks overlaps under it, so the
  rule holds for plain units of work too, like the constraint does on PostgreSQL.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import (
    MAX_APPOINTMENT_LENGTH,
    AppointmentRow,
    StatusHistoryRow,
    is_occupying,
    status_literal,
)
from hduce.adapters.sql.repositories._support import (
    DriverStatement,
    affected_rows,
    dialect_name,
    execute_core,
    is_exclusion_violation,
    page_of,
    rollback_transaction,
    table,
)
from hduce.adapters.sql.repositories.appointment_list import read_listed, read_page
from hduce.adapters.sql.repositories.care import care_statement
from hduce.application.ports import AppointmentQuery, ListedAppointment, Page
from hduce.domain.appointments import UNANSWERED, Appointment, AppointmentStatus, StatusChange
from hduce.domain.errors import (
    AlreadyExists,
    Conflicting,
    InvalidInput,
    NotFound,
    SlotConflict,
    StaleVersion,
)
from hduce.domain.identity import Role
from hduce.domain.scheduling import TimeSlot
from hduce.domain.visit_types import MAX_BUFFER, Buffers

#: PostgreSQL: how often an insert refused by a row that is gone by the time the
#: conflict is looked up (cancelled, deleted in between) is tried again.
_REFUSED_INSERT_RETRIES: Final = 3


class OverlapRefused(Exception):
    """The cause of a ``SlotConflict`` found by PostgreSQL's exclusion constraint on an
    ``INSERT ... ON CONFLICT DO NOTHING`` (which raises nothing itself)."""


_ORDER: Final = (AppointmentRow.starts_at, AppointmentRow.id)


def _check_storable(appointment: Appointment) -> None:
    if appointment.slot.duration > MAX_APPOINTMENT_LENGTH:
        raise InvalidInput(
            f"an appointment lasts at most {MAX_APPOINTMENT_LENGTH.total_seconds() / 3600:g} hours",
            field="ends_at",
        )
    # Bounds the doctor's side of the overlap queries (``overlapping_blocked``).
    buffers = appointment.buffers
    if not (
        timedelta(0) <= buffers.before <= MAX_BUFFER and timedelta(0) <= buffers.after <= MAX_BUFFER
    ):
        raise InvalidInput("a buffer lasts 0 to 120 minutes", field="visit_type_id")


def _appointment_values(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "patient_id": appointment.patient_id,
        "doctor_id": appointment.doctor_id,
        "starts_at": appointment.slot.start,
        "ends_at": appointment.slot.end,
        "blocked_starts_at": appointment.blocked.start,
        "blocked_ends_at": appointment.blocked.end,
        "visit_type_id": appointment.visit_type_id,
        "institution_id": appointment.institution_id,
        "status": appointment.status.value,
        "reason": appointment.reason,
        "doctor_notes": appointment.doctor_notes,
        "cancelled_by": appointment.cancelled_by.value if appointment.cancelled_by else None,
        "cancelled_by_id": appointment.cancelled_by_id,
        "cancellation_reason": appointment.cancellation_reason,
        "rejection_reason": appointment.rejection_reason,
        "replaces": appointment.replaces,
        "check_in_code": appointment.check_in_code,
        "version": appointment.version,
        "created_at": appointment.created_at,
        "updated_at": appointment.updated_at,
    }


def _to_appointment(row: Any, history: Iterable[Any]) -> Appointment:
    """``row``: a Core row of the appointment's columns; ``history``: its history rows,
    in order."""
    return Appointment(
        id=row.id,
        patient_id=row.patient_id,
        doctor_id=row.doctor_id,
        slot=TimeSlot(row.starts_at, row.ends_at),
        status=AppointmentStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        reason=row.reason,
        doctor_notes=row.doctor_notes,
        cancelled_by=Role(row.cancelled_by) if row.cancelled_by else None,
        cancelled_by_id=row.cancelled_by_id,
        cancellation_reason=row.cancellation_reason,
        rejection_reason=row.rejection_reason,
        replaces=row.replaces,
        check_in_code=row.check_in_code,
        version=row.version,
        visit_type_id=row.visit_type_id,
        institution_id=row.institution_id,
        buffers=Buffers(row.starts_at - row.blocked_starts_at, row.blocked_ends_at - row.ends_at),
        history=[
            StatusChange(
                from_status=AppointmentStatus(line.from_status) if line.from_status else None,
                to_status=AppointmentStatus(line.to_status),
                at=line.at,
                actor_role=Role(line.actor_role),
                actor_id=line.actor_id,
                reason=line.reason,
            )
            for line in history
        ],
    )


def overlapping(slot: TimeSlot) -> ColumnElement[bool]:
    """Half-open overlap with ``slot``, as a range on ``ends_at`` for the indexes.

    ``starts_at < end`` alone cannot bound an index on ``ends_at``; since no row lasts
    more than MAX_APPOINTMENT_LENGTH, an overlapping row also ends before
    ``end + MAX_APPOINTMENT_LENGTH``, which closes the ``(…, ends_at)`` range scan.
    """
    return and_(
        AppointmentRow.ends_at > slot.start,
        AppointmentRow.ends_at < slot.end + MAX_APPOINTMENT_LENGTH,
        AppointmentRow.starts_at < slot.end,
    )


def overlapping_blocked(blocked: TimeSlot) -> ColumnElement[bool]:
    """Half-open overlap of the rows' blocked ranges with ``blocked``, with a range on
    ``ends_at`` for the indexes: a row's buffers last at most MAX_BUFFER each, so a row
    whose blocked range overlaps also has ``ends_at`` within these bounds."""
    return and_(
        AppointmentRow.ends_at > blocked.start - MAX_BUFFER,
        AppointmentRow.ends_at < blocked.end + MAX_BUFFER + MAX_APPOINTMENT_LENGTH,
        AppointmentRow.blocked_ends_at > blocked.start,
        AppointmentRow.blocked_starts_at < blocked.end,
    )


def occupying_overlapping_statement(
    slot: TimeSlot, *, doctor_id: UUID, patient_id: UUID, blocked: TimeSlot | None = None
) -> Select[AppointmentRow]:
    """The conflict check (also used by ``bench/explain_plans.py``): the doctor's rows
    whose blocked range overlaps ``blocked`` (``slot`` without buffers), the patient's
    whose visit overlaps ``slot``."""
    return (
        select(AppointmentRow)
        .where(
            is_occupying(AppointmentRow.status),
            or_(
                and_(
                    AppointmentRow.doctor_id == doctor_id,
                    overlapping_blocked(blocked if blocked is not None else slot),
                ),
                and_(AppointmentRow.patient_id == patient_id, overlapping(slot)),
            ),
        )
        .order_by(*_ORDER)
    )


@functools.cache
def _occupying_overlapping_bound() -> Select[Any]:
    """``occupying_overlapping_statement`` with every column of the rows, built once
    with bind parameters (``_occupying_overlapping_parameters``): the booking's
    conflict check, which building and keying a statement of literal values for every
    request made cost more CPU than running."""
    instant = AppointmentRow.starts_at.type

    def bound(name: str) -> Any:
        return bindparam(name, type_=instant)

    return (
        select(*table(AppointmentRow).c)
        .where(
            is_occupying(AppointmentRow.status),
            or_(
                and_(
                    AppointmentRow.doctor_id
                    == bindparam("doctor_id", type_=AppointmentRow.doctor_id.type),
                    AppointmentRow.ends_at > bound("blocked_low"),
                    AppointmentRow.ends_at < bound("blocked_high"),
                    AppointmentRow.blocked_ends_at > bound("blocked_start"),
                    AppointmentRow.blocked_starts_at < bound("blocked_end"),
                ),
                and_(
                    AppointmentRow.patient_id
                    == bindparam("patient_id", type_=AppointmentRow.patient_id.type),
                    AppointmentRow.ends_at > bound("slot_start"),
                    AppointmentRow.ends_at < bound("slot_high"),
                    AppointmentRow.starts_at < bound("slot_end"),
                ),
            ),
        )
        .order_by(*_ORDER)
    )


@functools.cache
def _occupying_overlapping_driver_statement() -> DriverStatement:
    """``_occupying_overlapping_bound`` compiled once, its rows as asyncpg returns them
    on PostgreSQL (the booking's hot path; ``DriverStatement.typed_rows``)."""
    return DriverStatement(_occupying_overlapping_bound(), typed_rows=True)


def _occupying_overlapping_parameters(
    slot: TimeSlot, *, doctor_id: UUID, patient_id: UUID, blocked: TimeSlot | None
) -> dict[str, Any]:
    """The values of ``_occupying_overlapping_bound``: the bounds of ``overlapping``
    and ``overlapping_blocked``."""
    blocked = blocked if blocked is not None else slot
    return {
        "doctor_id": doctor_id,
        "blocked_low": blocked.start - MAX_BUFFER,
        "blocked_high": blocked.end + MAX_BUFFER + MAX_APPOINTMENT_LENGTH,
        "blocked_start": blocked.start,
        "blocked_end": blocked.end,
        "patient_id": patient_id,
        "slot_start": slot.start,
        "slot_high": slot.end + MAX_APPOINTMENT_LENGTH,
        "slot_end": slot.end,
    }


def busy_slots_statement(doctor_id: UUID, window: TimeSlot) -> Select[datetime, datetime]:
    """Free-slot search: the doctor's occupying blocked ranges overlapping ``window``.

    Unsorted on purpose: an ORDER BY starts_at lures SQLite onto the (doctor, starts_at)
    index, a walk through the doctor's whole past; the caller sorts the few rows.
    """
    return select(AppointmentRow.blocked_starts_at, AppointmentRow.blocked_ends_at).where(
        is_occupying(AppointmentRow.status),
        AppointmentRow.doctor_id == doctor_id,
        overlapping_blocked(window),
    )


def approved_starting_between_statement(start: datetime, end: datetime) -> Select[AppointmentRow]:
    """Reminders: APPROVED visits with ``start <= starts_at < end``."""
    return (
        select(AppointmentRow)
        .where(
            # Implied by the next line, but stated so that the occupying partial index on
            # starts_at qualifies (SQLite matches a partial index's WHERE terms literally).
            is_occupying(AppointmentRow.status),
            AppointmentRow.status == status_literal(AppointmentStatus.APPROVED),
            AppointmentRow.starts_at >= start,
            AppointmentRow.starts_at < end,
        )
        .order_by(*_ORDER)
    )


def overdue_statement(now: datetime, approved_before: datetime) -> Select[AppointmentRow]:
    """The sweep: unanswered ones (PENDING, PROPOSED) started before ``now``, APPROVED
    ones before ``approved_before``."""
    return (
        select(AppointmentRow)
        .where(
            is_occupying(AppointmentRow.status),
            # Implied by the OR below; stated so the index on starts_at gets a range.
            AppointmentRow.starts_at < max(now, approved_before),
            or_(
                and_(
                    AppointmentRow.status.in_(
                        [status_literal(status) for status in sorted(UNANSWERED)]
                    ),
                    AppointmentRow.starts_at < now,
                ),
                and_(
                    AppointmentRow.status == status_literal(AppointmentStatus.APPROVED),
                    AppointmentRow.starts_at < approved_before,
                ),
            ),
        )
        .order_by(*_ORDER)
    )


def _history_values(appointment: Appointment, already_stored: int) -> builtins.list[dict[str, Any]]:
    """The rows of the history lines from position ``already_stored`` on."""
    return [
        {
            "appointment_id": appointment.id,
            "position": position,
            "from_status": change.from_status.value if change.from_status else None,
            "to_status": change.to_status.value,
            "at": change.at,
            "actor_role": change.actor_role.value,
            "actor_id": change.actor_id,
            "reason": change.reason,
        }
        for position, change in enumerate(appointment.history)
        if position >= already_stored
    ]


_HISTORY_COLUMNS: Final = (
    "appointment_id",
    "position",
    "from_status",
    "to_status",
    "at",
    "actor_role",
    "actor_id",
    "reason",
)


@functools.lru_cache(maxsize=16)
def _insert_with_history_statement(lines: int) -> DriverStatement:
    """PostgreSQL: ``WITH new AS (INSERT INTO appointments ... ON CONFLICT DO NOTHING
    RETURNING id) INSERT INTO appointment_status_history SELECT ... FROM new
    RETURNING ...`` for ``lines`` history lines: they go in only with their
    appointment, in the same round trip; no row back means the appointment was refused
    (its exclusion constraints and primary key are the arbiters).

    Built once per number of lines, with named parameters
    (``_insert_with_history_parameters``): building a statement of literal values for
    every booking, and its cache key, cost more CPU than the rest of the insert."""
    appointments, history = table(AppointmentRow), table(StatusHistoryRow)
    new = (
        postgresql.insert(appointments)
        .values(
            {
                column.name: bindparam(f"a_{column.name}", type_=column.type)
                for column in appointments.c
            }
        )
        .on_conflict_do_nothing()
        .returning(appointments.c.id)
        .cte("new_appointment")
    )
    if not lines:
        return DriverStatement(select(new.c.id))
    rows = [
        select(
            *(
                bindparam(f"h{line}_{name}", type_=history.c[name].type).label(name)
                for name in _HISTORY_COLUMNS
            )
        ).select_from(new)
        for line in range(lines)
    ]
    source = rows[0] if len(rows) == 1 else union_all(*rows)
    # Compiled once and sent with positional parameters (``DriverStatement``): its
    # rows are only counted.
    return DriverStatement(
        postgresql.insert(history)
        .from_select(list(_HISTORY_COLUMNS), source)
        .returning(history.c.appointment_id)
        .add_cte(new)
    )


def _insert_with_history_parameters(
    appointment: Appointment, lines: builtins.list[dict[str, Any]]
) -> dict[str, Any]:
    parameters = {f"a_{name}": value for name, value in _appointment_values(appointment).items()}
    for line, values in enumerate(lines):
        parameters.update({f"h{line}_{name}": values[name] for name in _HISTORY_COLUMNS})
    return parameters


class SqlAppointmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # Every aggregate this repository handed out or stored, with the number of its
        # history lines already in the database (the rest are new and get appended).
        # Appointment compares by identity (eq=False), so it can key a dict.
        self._stored_history: dict[Appointment, int] = {}

    # ------------------------------------------------------------------ tracking

    def tracked(self) -> list[Appointment]:
        """Aggregates whose recorded events the unit of work collects on commit."""
        return list(self._stored_history)

    def forget(self) -> None:
        self._stored_history.clear()

    def _track(self, appointment: Appointment) -> Appointment:
        self._stored_history[appointment] = len(appointment.history)
        return appointment

    # ------------------------------------------------------------------ writes

    async def add(self, appointment: Appointment) -> None:
        _check_storable(appointment)
        if dialect_name(self._session) == "postgresql":
            await self._insert_on_postgresql(appointment)
            self._track(appointment)
            return

        async def insert() -> None:
            await self._session.execute(
                table(AppointmentRow).insert().values(_appointment_values(appointment))
            )
            await self._append_history(appointment, already_stored=0)

        try:
            await self._write_refusing_overlaps(appointment, insert)
        except IntegrityError as error:
            if await self._exists(appointment.id):
                raise AlreadyExists(f"appointment {appointment.id} already exists") from error
            raise
        self._track(appointment)

    async def _insert_on_postgresql(self, appointment: Appointment) -> None:
        """One statement inserts the appointment and its history lines; a refusal (a
        taken id, an overlap) inserts neither and returns no row instead of aborting
        the transaction. Then the refusal is named."""
        lines = _history_values(appointment, 0)
        statement = _insert_with_history_statement(len(lines))
        parameters = _insert_with_history_parameters(appointment, lines)
        for _attempt in range(_REFUSED_INSERT_RETRIES):
            if (await execute_core(self._session, statement, parameters)).first() is not None:
                return
            if await self._exists(appointment.id):
                raise AlreadyExists(f"appointment {appointment.id} already exists")
            # READ COMMITTED: this new statement sees the committed row that refused ours.
            conflicting = await self._conflicting(appointment)
            if conflicting:
                raise SlotConflict(conflicting) from OverlapRefused(
                    "the database's exclusion constraint refused the appointment"
                )
        raise SlotConflict([]) from OverlapRefused(
            "the database's exclusion constraint kept refusing the appointment"
        )

    async def _exists(self, appointment_id: UUID) -> bool:
        found = await self._session.scalar(
            select(AppointmentRow.id).where(AppointmentRow.id == appointment_id)
        )
        return found is not None

    async def save(self, appointment: Appointment, *, expected_version: int) -> None:
        _check_storable(appointment)
        already_stored = self._stored_history.get(appointment)
        if already_stored is None:
            # Not loaded through this unit of work: ask the database what it holds.
            already_stored = int(
                await self._session.scalar(
                    select(func.count())
                    .select_from(StatusHistoryRow)
                    .where(StatusHistoryRow.appointment_id == appointment.id)
                )
                or 0
            )
        values = _appointment_values(appointment)
        for immutable in ("id", "patient_id", "doctor_id", "created_at"):
            del values[immutable]
        stale = False

        async def update() -> None:
            nonlocal stale
            result = await self._session.execute(
                table(AppointmentRow)
                .update()
                .where(
                    AppointmentRow.id == appointment.id,
                    AppointmentRow.version == expected_version,
                )
                .values(values)
            )
            if affected_rows(result) == 0:
                stale = True
                return
            await self._append_history(appointment, already_stored=already_stored)

        await self._write_refusing_overlaps(appointment, update)
        if stale:
            actual = await self._session.scalar(
                select(AppointmentRow.version).where(AppointmentRow.id == appointment.id)
            )
            if actual is None:
                raise NotFound("appointment", appointment.id)
            raise StaleVersion("appointment", appointment.id, expected_version, actual)
        self._track(appointment)

    async def _append_history(self, appointment: Appointment, *, already_stored: int) -> None:
        new_lines = _history_values(appointment, already_stored)
        if new_lines:
            await self._session.execute(table(StatusHistoryRow).insert(), new_lines)

    async def _write_refusing_overlaps(
        self, appointment: Appointment, write: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``write``, refusing an overlap with SlotConflict.

        PostgreSQL: the exclusion constraint refuses, even against transactions still
        in flight; its error aborts the transaction, which is rolled back so that the
        conflict can be named. SQLite: in a savepoint, which holds the write lock, so
        checking first is race-free.
        """
        if dialect_name(self._session) == "postgresql":
            try:
                await write()
            except DBAPIError as error:
                if not is_exclusion_violation(error):
                    raise
                # The failed statement aborted the transaction: nothing of it can be
                # kept, and a new one (READ COMMITTED) sees the winner's committed row.
                await rollback_transaction(self._session)
                raise SlotConflict(await self._conflicting(appointment)) from error
            return
        async with self._session.begin_nested():
            if appointment.is_occupying:
                conflicting = await self._conflicting(appointment)
                if conflicting:
                    raise SlotConflict(conflicting)
            await write()

    async def _conflicting(self, appointment: Appointment) -> builtins.list[Conflicting]:
        """The occupying rows ``appointment`` overlaps, with their parties (the caller is
        told only the ids of its own: ``hduce.domain.privacy``)."""
        statement = occupying_overlapping_statement(
            appointment.slot,
            doctor_id=appointment.doctor_id,
            patient_id=appointment.patient_id,
            blocked=appointment.blocked,
        ).where(AppointmentRow.id != appointment.id)
        rows = await self._session.execute(
            statement.with_only_columns(
                AppointmentRow.id, AppointmentRow.patient_id, AppointmentRow.doctor_id
            ).order_by(None)
        )
        return [
            Conflicting(row_id, patient_id, doctor_id) for row_id, patient_id, doctor_id in rows
        ]

    # ------------------------------------------------------------------ reads

    async def get(self, appointment_id: UUID, *, for_update: bool = False) -> Appointment | None:
        statement = select(AppointmentRow).where(AppointmentRow.id == appointment_id)
        if for_update:
            # PostgreSQL: row lock until the transaction ends. SQLite renders no
            # FOR UPDATE; a serialized unit of work already holds the write lock.
            statement = statement.with_for_update()
        found = await self._load(statement)
        return found[0] if found else None

    async def occupying_overlapping(
        self,
        slot: TimeSlot,
        *,
        doctor_id: UUID,
        patient_id: UUID,
        blocked: TimeSlot | None = None,
    ) -> Sequence[Appointment]:
        rows = (
            await execute_core(
                self._session,
                _occupying_overlapping_driver_statement(),
                _occupying_overlapping_parameters(
                    slot, doctor_id=doctor_id, patient_id=patient_id, blocked=blocked
                ),
            )
        ).all()
        return await self._with_histories(rows)

    async def busy_slots(self, doctor_id: UUID, window: TimeSlot) -> Sequence[TimeSlot]:
        rows = await self._session.execute(busy_slots_statement(doctor_id, window))
        return sorted(TimeSlot(starts_at, ends_at) for starts_at, ends_at in rows)

    async def list(self, query: AppointmentQuery) -> Page[Appointment]:
        """One statement in Core, whatever the page size (``appointment_list``): the
        page's rows with the total and their histories."""
        listed = await read_page(self._session, query)
        return page_of(
            [self._track(_to_appointment(row, lines)) for row, lines in listed.appointments],
            listed.total,
            listed.limit,
            listed.offset,
        )

    async def list_listed(self, query: AppointmentQuery) -> Page[ListedAppointment]:
        """The same statement's page, read straight into ``ListedAppointment``s (no
        aggregates to build and track): ``appointment_list.read_listed``."""
        return await read_listed(self._session, query)

    async def approved_starting_between(
        self, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        return await self._load(approved_starting_between_statement(start, end))

    async def overdue(self, now: datetime, *, approved_before: datetime) -> Sequence[Appointment]:
        return await self._load(overdue_statement(now, approved_before))

    async def get_by_check_in_code(self, code: str) -> Appointment | None:
        found = await self._load(select(AppointmentRow).where(AppointmentRow.check_in_code == code))
        return found[0] if found else None

    async def has_care_relationship(self, doctor_id: UUID, patient_id: UUID) -> bool:
        # The (patient_id, starts_at) index narrows to the patient's few rows, the
        # history's primary key to each one's lines.
        found = await self._session.scalar(care_statement(doctor_id, patient_id))
        return found is not None

    async def _load(self, statement: Select[AppointmentRow]) -> builtins.list[Appointment]:
        """The appointments ``statement`` selects, read with Core (every column; its
        WHERE, ORDER BY and FOR UPDATE kept): no ORM objects to build, and no second
        statement when nothing matched (a free slot's conflict check)."""
        rows = (
            await self._session.execute(statement.with_only_columns(*table(AppointmentRow).c))
        ).all()
        return await self._with_histories(rows)

    async def _with_histories(self, rows: Sequence[Any]) -> builtins.list[Appointment]:
        """The aggregates of Core ``rows`` of appointments, with their histories read in
        one statement for all of them (none when there are no rows)."""
        history: dict[UUID, builtins.list[Any]] = {row.id: [] for row in rows}
        if history:
            lines = await self._session.execute(
                select(*table(StatusHistoryRow).c)
                .where(StatusHistoryRow.appointment_id.in_(builtins.list(history)))
                .order_by(StatusHistoryRow.appointment_id, StatusHistoryRow.position)
            )
            for line in lines:
                history[line.appointment_id].append(line)
        return [self._track(_to_appointment(row, history[row.id])) for row in rows]
