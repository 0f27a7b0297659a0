"""Calendar input in the doctor's own terms: whole local days or exact instants.

A client may give a time-off period or a slot window as instants with a UTC offset,
or as dates. A date means that day on the doctor's wall calendar, from its first
instant; as the end of a range it is inclusive (``to=2030-03-31`` includes the 31st).
Local midnights are resolved through the doctor's timezone, so a day with a DST
change has its true 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.application.access import ensure_self_or_admin
from hduce.application.availability.free_slots import FreeSlot, ListFreeSlots
from hduce.application.availability.hours import AddTimeOff
from hduce.application.ports import UnitOfWorkFactory
from hduce.application.use_case import load
from hduce.domain.clinic import Doctor
from hduce.domain.errors import InvalidInput
from hduce.domain.identity import Actor
from hduce.domain.scheduling import TimeOff, TimeSlot, ensure_utc
from hduce.domain.text import plain_text

DayOrInstant = date | datetime
MAX_REASON_LENGTH: Final = 500


def start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` on a wall clock in ``zone``, in UTC.

    Where midnight itself is skipped by a DST jump, zoneinfo reads it with the offset
    before the jump, which lands exactly on the jump: still the day's first instant.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_range(
    start: DayOrInstant,
    end: DayOrInstant,
    timezone: str,
    *,
    start_field: str,
    end_field: str,
) -> TimeSlot:
    """``[start, end)`` in UTC; dates are local days of ``timezone``, the end inclusive."""
    zone = ZoneInfo(timezone)
    # datetime is a subclass of date: test for it first.
    if isinstance(start, datetime):
        first = ensure_utc(start, start_field)
    else:
        first = start_of_local_day(start, zone)
    if isinstance(end, datetime):
        last = ensure_utc(end, end_field)
    else:
        last = start_of_local_day(end + timedelta(days=1), zone)
    if last <= first:
        raise InvalidInput(f"{end_field} must be after {start_field}", field=end_field)
    return TimeSlot(first, last)


async def _doctor(uow_factory: UnitOfWorkFactory, doctor_id: UUID) -> Doctor:
    async with uow_factory() as uow:
        return await load(uow.doctors.get, doctor_id, "doctor")


class ListDoctorSlots:
    """Free slots of the doctor's visit length in a window of local days or instants
    (at most ``availability.MAX_SLOT_WINDOW``)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, list_free_slots: ListFreeSlots) -> None:
        self._uow_factory = uow_factory
        self._list_free_slots = list_free_slots

    async def __call__(
        self,
        doctor_id: UUID,
        start: DayOrInstant,
        end: DayOrInstant,
        visit_type_id: UUID | None = None,
        institution_id: UUID | None = None,
    ) -> list[FreeSlot]:
        doctor = await _doctor(self._uow_factory, doctor_id)
        window = local_range(start, end, doctor.timezone, start_field="from", end_field="to")
        return await self._list_free_slots(doctor_id, window, visit_type_id, institution_id)


@dataclass(frozen=True, slots=True)
class ScheduledTimeOff:
    id: UUID
    doctor_id: UUID
    time_off: TimeOff
    timezone: str


class AddDoctorTimeOff:
    """Time off given as instants or whole local days (the doctor themself or an admin)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, add_time_off: AddTimeOff) -> None:
        self._uow_factory = uow_factory
        self._add_time_off = add_time_off

    async def __call__(
        self,
        actor: Actor,
        doctor_id: UUID,
        starts: DayOrInstant,
        ends: DayOrInstant,
        reason: str = "",
    ) -> ScheduledTimeOff:
        # Checked before the lookup too, so a stranger cannot probe which doctors exist.
        ensure_self_or_admin(actor, doctor_id, "add time off")
        reason = plain_text(reason, "reason")
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidInput(f"a reason has at most {MAX_REASON_LENGTH} characters", "reason")
        doctor = await _doctor(self._uow_factory, doctor_id)
        slot = local_range(
            starts, ends, doctor.timezone, start_field="starts_at", end_field="ends_at"
        )
        time_off = TimeOff(slot, reason)
        time_off_id = await self._add_time_off(actor, doctor_id, time_off)
        return ScheduledTimeOff(time_off_id, doctor_id, time_off, doctor.timezone)
