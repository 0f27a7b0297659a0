"""Doctors' weekly working hours, extra hours and time off."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import CompoundSelect, Select, cast, delete, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import DoctorRow, ExtraHoursRow, TimeOffRow, WorkingHoursRow
from hduce.adapters.sql.repositories._support import table
from hduce.domain.errors import NotFound
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


#: The branches of the availability query, in the order they are sorted.
_TIMEZONE, _WEEKLY, _EXTRA, _TIME_OFF = range(4)


def _typed_null(column: Any) -> Any:
    """NULL cast to ``column``'s type. The first branch of a UNION gives the result its
    types: SQLAlchemy reads SQLite's dates and times back by them, and PostgreSQL,
    which resolves ``A UNION ALL B UNION ALL C`` pair by pair, would make a column of
    untyped NULLs text and then refuse to match it with the later branches' dates."""
    return cast(null(), column.type)


def _availability_statement(doctor_id: UUID, window: TimeSlot | None) -> CompoundSelect[Any]:
    """(kind, weekday, on_date, start_time, end_time, starts_at, ends_at, text,
    institution_id) rows,
    sorted: the doctor's timezone (none: no such doctor), then the weekly intervals,
    the extra hours and the time off (only those that can touch ``window``)."""
    no_weekday = _typed_null(WorkingHoursRow.weekday)
    no_date = _typed_null(ExtraHoursRow.on_date)
    no_time = _typed_null(WorkingHoursRow.start_time)
    no_instant = _typed_null(TimeOffRow.starts_at)
    no_institution = _typed_null(WorkingHoursRow.institution_id)
    timezone = select(
        literal_column(str(_TIMEZONE)).label("kind"),
        no_weekday.label("weekday"),
        no_date.label("on_date"),
        no_time.label("start_time"),
        no_time.label("end_time"),
        no_instant.label("starts_at"),
        no_instant.label("ends_at"),
        DoctorRow.timezone.label("text"),
        no_institution.label("institution_id"),
    ).where(DoctorRow.user_id == doctor_id)
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
    ).where(TimeOffRow.doctor_id == doctor_id)
    if window is not None:
        extra = extra.where(
            ExtraHoursRow.on_date >= (window.start - _DATE_MARGIN).date(),
            ExtraHoursRow.on_date <= (window.end + _DATE_MARGIN).date(),
        )
        time_off = time_off.where(
            TimeOffRow.ends_at > window.start, TimeOffRow.starts_at < window.end
        )
    # Within a branch the other branches' columns are NULL, so one ORDER BY sorts each
    # branch by its own keys: weekday and start, date and start, start of the time off.
    return union_all(timezone, weekly, extra, time_off).order_by(
        literal_column("kind"),
        literal_column("weekday"),
        literal_column("on_date"),
        literal_column("start_time"),
        literal_column("starts_at"),
    )


class SqlAvailabilityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, doctor_id: UUID, window: TimeSlot | None = None) -> DoctorAvailability:
        """One round trip: the timezone, weekly hours, extra hours and time off as the
        branches of one UNION ALL (``_availability_statement``)."""
        timezone: str | None = None
        days: dict[int, list[LocalInterval]] = defaultdict(list)
        extra: list[ExtraHours] = []
        time_off: list[TimeOff] = []
        rows = await self._session.execute(_availability_statement(doctor_id, window))
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
            raise NotFound("doctor", doctor_id)
        return DoctorAvailability(
            timezone=timezone,
            weekly=WeeklyHours({weekday: tuple(found) for weekday, found in days.items()}),
            extra_hours=tuple(extra),
            time_off=tuple(time_off),
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
