"""Doctors' weekly working hours, extra hours and time off."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
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


class SqlAvailabilityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, doctor_id: UUID, window: TimeSlot | None = None) -> DoctorAvailability:
        timezone = await self._timezone_of(doctor_id)
        weekly_rows = await self._session.execute(
            select(WorkingHoursRow.weekday, WorkingHoursRow.start_time, WorkingHoursRow.end_time)
            .where(WorkingHoursRow.doctor_id == doctor_id)
            .order_by(WorkingHoursRow.weekday, WorkingHoursRow.start_time)
        )
        days: dict[int, list[LocalInterval]] = defaultdict(list)
        for weekday, start, end in weekly_rows:
            days[weekday].append(LocalInterval(start, end))

        extra_query = select(
            ExtraHoursRow.on_date, ExtraHoursRow.start_time, ExtraHoursRow.end_time
        ).where(ExtraHoursRow.doctor_id == doctor_id)
        off_query = select(TimeOffRow.starts_at, TimeOffRow.ends_at, TimeOffRow.reason).where(
            TimeOffRow.doctor_id == doctor_id
        )
        if window is not None:
            extra_query = extra_query.where(
                ExtraHoursRow.on_date >= (window.start - _DATE_MARGIN).date(),
                ExtraHoursRow.on_date <= (window.end + _DATE_MARGIN).date(),
            )
            off_query = off_query.where(
                TimeOffRow.ends_at > window.start, TimeOffRow.starts_at < window.end
            )
        extra = tuple(
            ExtraHours(on=on_date, interval=LocalInterval(start, end))
            for on_date, start, end in await self._session.execute(
                extra_query.order_by(ExtraHoursRow.on_date, ExtraHoursRow.start_time)
            )
        )
        time_off = tuple(
            TimeOff(slot=TimeSlot(starts_at, ends_at), reason=reason)
            for starts_at, ends_at, reason in await self._session.execute(
                off_query.order_by(TimeOffRow.starts_at)
            )
        )
        return DoctorAvailability(
            timezone=timezone,
            weekly=WeeklyHours({weekday: tuple(found) for weekday, found in days.items()}),
            extra_hours=extra,
            time_off=time_off,
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
            )
        )
        return extra_id

    async def _timezone_of(self, doctor_id: UUID) -> str:
        """The doctor's timezone; NotFound when ``doctor_id`` is not a doctor."""
        timezone = await self._session.scalar(
            select(DoctorRow.timezone).where(DoctorRow.user_id == doctor_id)
        )
        if timezone is None:
            raise NotFound("doctor", doctor_id)
        return timezone
