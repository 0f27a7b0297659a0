"""Doctors' weekly working hours, extra hours and time off."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    CompoundSelect,
    Select,
    bindparam,
    cast,
    delete,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import DoctorRow, ExtraHoursRow, TimeOffRow, UserRow, WorkingHoursRow
from hduce.adapters.sql.repositories._support import DriverStatement, execute_core, table
from hduce.application.ports import AccountStanding, BookingFacts
from hduce.domain.errors import NotFound
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    LocalInterval,
    TimeOff,
    TimeSlot,
    WeeklyHours,
)

#: Local dates whose hours can touch a UTC window: UTC offsets reach ±14 h, so one
#: day of margin on each side is always enough.
_DATE_MARGIN = timedelta(days=1)


#: The branches of the availability query, in the order they are sorted (the patient's
#: account is the booking statement's last branch).
_TIMEZONE, _WEEKLY, _EXTRA, _TIME_OFF, _PATIENT = range(5)

#: The longest visit a doctor's visit length or a visit type can set (their CHECKs):
#: the window ``BookAppointment`` asks availability for when the request has no end.
LONGEST_DEFAULT_VISIT: Final = timedelta(minutes=480)


def _typed_null(column: Any) -> Any:
    """NULL cast to ``column``'s type. The first branch of a UNION gives the result its
    types: SQLAlchemy reads SQLite's dates and times back by them, and PostgreSQL,
    which resolves ``A UNION ALL B UNION ALL C`` pair by pair, would make a column of
    untyped NULLs text and then refuse to match it with the later branches' dates."""
    return cast(null(), column.type)


def _hours_branches(
    doctor_id: Any, window: tuple[Any, Any, Any, Any] | None, tail: tuple[Any, ...] = ()
) -> list[Select[*tuple[Any, ...]]]:
    """The weekly intervals, the extra hours and the time off of ``doctor_id`` as
    branches of the availability UNION ALL (the columns of ``_availability_statement``,
    then ``tail``, NULL in these branches). ``window``: (start, end, first local date,
    last local date) that the extra hours and time off must touch, or None for all of
    them. ``doctor_id`` and the window are values, or bind parameters (the booking
    statement, built once). A filter on the hours (say, one place of work) goes here,
    and both statements get it."""
    weekly: Select[*tuple[Any, ...]] = select(
        literal_column(str(_WEEKLY)),
        WorkingHoursRow.weekday,
        null(),
        WorkingHoursRow.start_time,
        WorkingHoursRow.end_time,
        null(),
        null(),
        null(),
        WorkingHoursRow.institution_id,
        *tail,
    ).where(WorkingHoursRow.doctor_id == doctor_id)
    extra: Select[*tuple[Any, ...]] = select(
        literal_column(str(_EXTRA)),
        null(),
        ExtraHoursRow.on_date,
        ExtraHoursRow.start_time,
        ExtraHoursRow.end_time,
        null(),
        null(),
        null(),
        ExtraHoursRow.institution_id,
        *tail,
    ).where(ExtraHoursRow.doctor_id == doctor_id)
    time_off: Select[*tuple[Any, ...]] = select(
        literal_column(str(_TIME_OFF)),
        null(),
        null(),
        null(),
        null(),
        TimeOffRow.starts_at,
        TimeOffRow.ends_at,
        TimeOffRow.reason,
        null(),
        *tail,
    ).where(TimeOffRow.doctor_id == doctor_id)
    if window is not None:
        start, end, first_date, last_date = window
        extra = extra.where(ExtraHoursRow.on_date >= first_date, ExtraHoursRow.on_date <= last_date)
        time_off = time_off.where(TimeOffRow.ends_at > start, TimeOffRow.starts_at < end)
    return [weekly, extra, time_off]


def _typed_nulls() -> tuple[Any, Any, Any, Any]:
    """NULL weekday, date, time and instant, typed (see ``_typed_null``)."""
    return (
        _typed_null(WorkingHoursRow.weekday),
        _typed_null(ExtraHoursRow.on_date),
        _typed_null(WorkingHoursRow.start_time),
        _typed_null(TimeOffRow.starts_at),
    )


def _window_values(window: TimeSlot) -> tuple[Any, Any, Any, Any]:
    """``window`` as (start, end, first local date, last local date): the local dates
    whose extra hours can touch it."""
    return (
        window.start,
        window.end,
        (window.start - _DATE_MARGIN).date(),
        (window.end + _DATE_MARGIN).date(),
    )


#: The ORDER BY of the availability UNIONs. Within a branch the other branches'
#: columns are NULL, so one ORDER BY sorts each branch by its own keys: weekday and
#: start, date and start, start of the time off.
def _sorted(statement: CompoundSelect[Any]) -> CompoundSelect[Any]:
    return statement.order_by(
        literal_column("kind"),
        literal_column("weekday"),
        literal_column("on_date"),
        literal_column("start_time"),
        literal_column("starts_at"),
    )


def _availability_statement(doctor_id: UUID, window: TimeSlot | None) -> CompoundSelect[Any]:
    """(kind, weekday, on_date, start_time, end_time, starts_at, ends_at, text,
    institution_id) rows,
    sorted: the doctor's timezone (none: no such doctor), then the weekly intervals,
    the extra hours and the time off (only those that can touch ``window``)."""
    no_weekday, no_date, no_time, no_instant = _typed_nulls()
    timezone = select(
        literal_column(str(_TIMEZONE)).label("kind"),
        no_weekday.label("weekday"),
        no_date.label("on_date"),
        no_time.label("start_time"),
        no_time.label("end_time"),
        no_instant.label("starts_at"),
        no_instant.label("ends_at"),
        DoctorRow.timezone.label("text"),
        _typed_null(WorkingHoursRow.institution_id).label("institution_id"),
    ).where(DoctorRow.user_id == doctor_id)
    hours = _hours_branches(doctor_id, _window_values(window) if window is not None else None)
    return _sorted(union_all(timezone, *hours))


@functools.cache
def _booking_driver_statement() -> DriverStatement:
    """``_booking_statement`` compiled once, its rows as asyncpg returns them on
    PostgreSQL (the booking's hot path; ``DriverStatement.typed_rows``)."""
    return DriverStatement(_booking_statement(), typed_rows=True)


@functools.cache
def _booking_statement() -> CompoundSelect[Any]:
    """``for_booking``'s one statement, built once with bind parameters (``doctor_id``,
    ``patient_id``, ``window_start``, ``window_end``, ``first_date``, ``last_date``):
    the availability UNION ALL of ``_availability_statement``, whose first branch also
    carries the doctor's visit length (``number``) and whether the doctor's account is
    active (``flag``), plus a last branch with the patient's account: role (``text``),
    active (``flag``) and when the address was verified (``starts_at``)."""
    users = table(UserRow)
    doctors = table(DoctorRow)
    doctor_id = bindparam("doctor_id", type_=DoctorRow.user_id.type)
    patient_id = bindparam("patient_id", type_=UserRow.id.type)
    window = (
        bindparam("window_start", type_=TimeOffRow.ends_at.type),
        bindparam("window_end", type_=TimeOffRow.starts_at.type),
        bindparam("first_date", type_=ExtraHoursRow.on_date.type),
        bindparam("last_date", type_=ExtraHoursRow.on_date.type),
    )
    no_weekday, no_date, no_time, no_instant = _typed_nulls()
    doctor = (
        select(
            literal_column(str(_TIMEZONE)).label("kind"),
            no_weekday.label("weekday"),
            no_date.label("on_date"),
            no_time.label("start_time"),
            no_time.label("end_time"),
            no_instant.label("starts_at"),
            no_instant.label("ends_at"),
            doctors.c.timezone.label("text"),
            _typed_null(WorkingHoursRow.institution_id).label("institution_id"),
            doctors.c.visit_minutes.label("number"),
            users.c.is_active.label("flag"),
        )
        .join_from(doctors, users, users.c.id == doctors.c.user_id)
        .where(doctors.c.user_id == doctor_id)
    )
    patient = select(
        literal_column(str(_PATIENT)),
        null(),
        null(),
        null(),
        null(),
        users.c.email_verified_at,
        null(),
        users.c.role,
        null(),
        null(),
        users.c.is_active,
    ).where(users.c.id == patient_id)
    hours = _hours_branches(doctor_id, window, tail=(null(), null()))
    return _sorted(union_all(doctor, *hours, patient))


def _availability_of(rows: Iterable[Any]) -> DoctorAvailability | None:
    """The availability of the sorted rows of ``_availability_statement`` (None without
    the timezone row: no such doctor)."""
    timezone: str | None = None
    days: dict[int, list[LocalInterval]] = defaultdict(list)
    extra: list[ExtraHours] = []
    time_off: list[TimeOff] = []
    for kind, weekday, on_date, start, end, starts_at, ends_at, text, place in rows:
        if kind == _TIMEZONE:
            timezone = text
        elif kind == _WEEKLY:
            days[weekday].append(LocalInterval(start, end, institution_id=place))
        elif kind == _EXTRA:
            extra.append(
                ExtraHours(on=on_date, interval=LocalInterval(start, end, institution_id=place))
            )
        else:
            time_off.append(TimeOff(slot=TimeSlot(starts_at, ends_at), reason=text))
    if timezone is None:
        return None
    return DoctorAvailability(
        timezone=timezone,
        weekly=WeeklyHours({weekday: tuple(found) for weekday, found in days.items()}),
        extra_hours=tuple(extra),
        time_off=tuple(time_off),
    )


class SqlAvailabilityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, doctor_id: UUID, window: TimeSlot | None = None) -> DoctorAvailability:
        """One round trip: the timezone, weekly hours, extra hours and time off as the
        branches of one UNION ALL (``_availability_statement``)."""
        rows = await self._session.execute(_availability_statement(doctor_id, window))
        availability = _availability_of(rows)
        if availability is None:
            raise NotFound("doctor", doctor_id)
        return availability

    async def for_booking(
        self, doctor_id: UUID, patient_id: UUID, window: TimeSlot
    ) -> BookingFacts:
        """One round trip (``_booking_statement``), prepared once, run on the session's
        connection (``execute_core``: the booking's hot path)."""
        start, end, first_date, last_date = _window_values(window)
        rows: list[Any] = list(
            (
                await execute_core(
                    self._session,
                    _booking_driver_statement(),
                    {
                        "doctor_id": doctor_id,
                        "patient_id": patient_id,
                        "window_start": start,
                        "window_end": end,
                        "first_date": first_date,
                        "last_date": last_date,
                    },
                )
            ).all()
        )
        patient: AccountStanding | None = None
        visit_length: timedelta | None = None
        if rows and rows[-1][0] == _PATIENT:
            # kind, ..., starts_at = email_verified_at, ..., text = role,
            # institution_id, number, flag
            found = rows.pop()
            patient = AccountStanding(Role(found[7]), bool(found[10]), found[5] is not None)
        if rows and rows[0][0] == _TIMEZONE and rows[0][10]:
            visit_length = timedelta(minutes=rows[0][9])
        return BookingFacts(
            patient=patient,
            visit_length=visit_length,
            availability=_availability_of(row[:9] for row in rows),
        )

    async def replace_weekly(self, doctor_id: UUID, weekly: WeeklyHours) -> None:
        await self._timezone_of(doctor_id)
        await self._session.execute(
            delete(WorkingHoursRow).where(WorkingHoursRow.doctor_id == doctor_id)
        )
        rows: list[dict[str, Any]] = [
            {
                "doctor_id": doctor_id,
                "weekday": weekday,
                "start_time": interval.start,
                "end_time": interval.end,
                "institution_id": interval.institution_id,
            }
            for weekday, intervals in sorted(weekly.days.items())
            for interval in intervals
        ]
        if rows:
            await self._session.execute(table(WorkingHoursRow).insert(), rows)

    async def add_time_off(self, doctor_id: UUID, time_off: TimeOff) -> UUID:
        await self._timezone_of(doctor_id)
        time_off_id = uuid7()
        await self._session.execute(
            table(TimeOffRow)
            .insert()
            .values(
                id=time_off_id,
                doctor_id=doctor_id,
                starts_at=time_off.slot.start,
                ends_at=time_off.slot.end,
                reason=time_off.reason,
            )
        )
        return time_off_id

    async def add_extra_hours(self, doctor_id: UUID, extra: ExtraHours) -> UUID:
        await self._timezone_of(doctor_id)
        extra_id = uuid7()
        await self._session.execute(
            table(ExtraHoursRow)
            .insert()
            .values(
                id=extra_id,
                doctor_id=doctor_id,
                on_date=extra.on,
                start_time=extra.interval.start,
                end_time=extra.interval.end,
                institution_id=extra.interval.institution_id,
            )
        )
        return extra_id

    async def lock(self, doctor_id: UUID) -> None:
        """``SELECT ... FOR UPDATE`` of the doctor's row: on PostgreSQL a second
        calendar change of that doctor waits here for the first to commit. SQLite
        renders no FOR UPDATE; its serialized unit of work holds the only write lock."""
        found = await self._session.scalar(
            select(DoctorRow.user_id).where(DoctorRow.user_id == doctor_id).with_for_update()
        )
        if found is None:
            raise NotFound("doctor", doctor_id)

    async def _timezone_of(self, doctor_id: UUID) -> str:
        """The doctor's timezone; NotFound when ``doctor_id`` is not a doctor."""
        timezone = await self._session.scalar(
            select(DoctorRow.timezone).where(DoctorRow.user_id == doctor_id)
        )
        if timezone is None:
            raise NotFound("doctor", doctor_id)
        return timezone
