"""Doctors' weekly working hours, extra hours and time off."""

from __future__ import annotations

from datetime import UTC, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.adapters.memory.repositories._support import Repository, copied
from hduce.adapters.memory.store import Owned, StoreTables
from hduce.application.ports import AccountStanding, BookingFacts, IdGenerator
from hduce.domain.clinic import Doctor
from hduce.domain.errors import NotFound
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    TimeOff,
    TimeSlot,
    WeeklyHours,
)


def _extra_touches(extra: ExtraHours, zone: ZoneInfo, window: TimeSlot) -> bool:
    naive_start, naive_end = extra.interval.on(extra.on)
    start = naive_start.replace(tzinfo=zone).astimezone(UTC)
    end = naive_end.replace(tzinfo=zone).astimezone(UTC)
    # A DST jump can make a wall-clock interval shrink or invert: widen by an hour
    # either side rather than risk leaving out hours that count.
    margin = timedelta(hours=1)
    return start - margin < window.end and window.start < end + margin


class InMemoryAvailabilityRepository(Repository):
    def __init__(self, tables: StoreTables, ids: IdGenerator) -> None:
        self._users = tables.users
        self._doctors = tables.doctors
        self._weekly = tables.weekly_hours
        self._time_off = tables.time_off
        self._extra = tables.extra_hours
        self._ids = ids

    def _doctor(self, doctor_id: UUID) -> Doctor:
        doctor = self._doctors.get(doctor_id)
        if doctor is None:
            raise NotFound("doctor", doctor_id)
        return doctor

    async def get(self, doctor_id: UUID, window: TimeSlot | None = None) -> DoctorAvailability:
        doctor = self._doctor(doctor_id)
        zone = ZoneInfo(doctor.timezone)
        weekly = self._weekly.get(doctor_id) or WeeklyHours()
        extra = sorted(
            (
                row.value
                for row in self._extra.values()
                if row.doctor_id == doctor_id
                and (window is None or _extra_touches(row.value, zone, window))
            ),
            key=lambda e: (e.on, e.interval),
        )
        time_off = sorted(
            (
                row.value
                for row in self._time_off.values()
                if row.doctor_id == doctor_id
                and (window is None or row.value.slot.overlaps(window))
            ),
            key=lambda t: (t.slot, t.reason),
        )
        return DoctorAvailability(
            timezone=doctor.timezone,
            weekly=copied(weekly),
            extra_hours=tuple(extra),
            time_off=tuple(time_off),
        )

    async def for_booking(
        self, doctor_id: UUID, patient_id: UUID, window: TimeSlot
    ) -> BookingFacts:
        account = self._users.get(patient_id)
        patient = (
            AccountStanding(account.role, account.is_active, account.email_verified)
            if account is not None
            else None
        )
        doctor = self._doctors.get(doctor_id)
        if doctor is None:
            return BookingFacts(patient=patient, visit_length=None, availability=None)
        doctor_account = self._users.get(doctor_id)
        active = doctor_account is not None and doctor_account.is_active
        return BookingFacts(
            patient=patient,
            visit_length=doctor.visit_length if active else None,
            availability=await self.get(doctor_id, window),
        )

    async def replace_weekly(self, doctor_id: UUID, weekly: WeeklyHours) -> None:
        self._doctor(doctor_id)
        self._weekly.put(doctor_id, copied(weekly))

    async def lock(self, doctor_id: UUID) -> None:
        """Nothing to take: a serialized unit of work holds the store's writer lock."""
        self._doctor(doctor_id)

    async def add_time_off(self, doctor_id: UUID, time_off: TimeOff) -> UUID:
        self._doctor(doctor_id)
        row_id = self._ids.new_id()
        self._time_off.put(row_id, Owned(doctor_id, time_off), insert=True)
        return row_id

    async def add_extra_hours(self, doctor_id: UUID, extra: ExtraHours) -> UUID:
        self._doctor(doctor_id)
        row_id = self._ids.new_id()
        self._extra.put(row_id, Owned(doctor_id, extra), insert=True)
        return row_id
