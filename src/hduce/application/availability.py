"""Doctors' availability: working hours, exceptions, and free slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.application.access import ensure_self_or_admin
from hduce.application.ports import Clock, UnitOfWorkFactory
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor
from hduce.domain.errors import InvalidInput, NotFound
from hduce.domain.identity import Actor
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    SchedulingPolicy,
    TimeOff,
    TimeSlot,
    WeeklyHours,
)

#: Longest window one slot query may ask for; keeps the answer small and the query cheap.
MAX_SLOT_WINDOW = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class FreeSlot:
    slot: TimeSlot
    timezone: str

    @property
    def local_start(self) -> datetime:
        return self.slot.start.astimezone(ZoneInfo(self.timezone))

    @property
    def local_end(self) -> datetime:
        return self.slot.end.astimezone(ZoneInfo(self.timezone))


class _DoctorAvailabilityCommand:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock


def _require_doctor(doctor: Doctor | None, doctor_id: UUID) -> Doctor:
    if doctor is None:
        raise NotFound("doctor", doctor_id)
    return doctor


class GetWorkingHours(_DoctorAvailabilityCommand):
    async def __call__(self, doctor_id: UUID) -> DoctorAvailability:
        async with self._uow_factory() as uow:
            _require_doctor(await uow.doctors.get(doctor_id), doctor_id)
            return await uow.availability.get(doctor_id)


class SetWorkingHours(_DoctorAvailabilityCommand):
    """Replace the doctor's weekly pattern (the doctor themself or an admin)."""

    async def __call__(self, actor: Actor, doctor_id: UUID, weekly: WeeklyHours) -> None:
        ensure_self_or_admin(actor, doctor_id, "change working hours")
        async with self._uow_factory() as uow:
            _require_doctor(await uow.doctors.get(doctor_id), doctor_id)
            await uow.availability.replace_weekly(doctor_id, weekly)
            summary = {
                str(day): [str(i) for i in intervals] for day, intervals in weekly.days.items()
            }
            await uow.audit.add(
                AuditEntry.of(
                    actor,
                    self._clock.now(),
                    "doctor.working_hours_set",
                    "doctor",
                    doctor_id,
                    weekly=summary,
                )
            )
            await uow.commit()


class AddTimeOff(_DoctorAvailabilityCommand):
    async def __call__(self, actor: Actor, doctor_id: UUID, time_off: TimeOff) -> UUID:
        ensure_self_or_admin(actor, doctor_id, "add time off")
        async with self._uow_factory() as uow:
            _require_doctor(await uow.doctors.get(doctor_id), doctor_id)
            time_off_id = await uow.availability.add_time_off(doctor_id, time_off)
            await uow.audit.add(
                AuditEntry.of(
                    actor,
                    self._clock.now(),
                    "doctor.time_off_added",
                    "doctor",
                    doctor_id,
                    starts_at=time_off.slot.start.isoformat(),
                    ends_at=time_off.slot.end.isoformat(),
                    reason=time_off.reason,
                )
            )
            await uow.commit()
        return time_off_id


class AddExtraHours(_DoctorAvailabilityCommand):
    async def __call__(self, actor: Actor, doctor_id: UUID, extra: ExtraHours) -> UUID:
        ensure_self_or_admin(actor, doctor_id, "add extra hours")
        async with self._uow_factory() as uow:
            _require_doctor(await uow.doctors.get(doctor_id), doctor_id)
            extra_id = await uow.availability.add_extra_hours(doctor_id, extra)
            await uow.audit.add(
                AuditEntry.of(
                    actor,
                    self._clock.now(),
                    "doctor.extra_hours_added",
                    "doctor",
                    doctor_id,
                    on=extra.on.isoformat(),
                    interval=str(extra.interval),
                )
            )
            await uow.commit()
        return extra_id


class ListFreeSlots:
    """Free slots of the doctor's visit length: working hours - time off - occupied -
    the minimum notice, inside the booking horizon."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: SchedulingPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(self, doctor_id: UUID, window: TimeSlot) -> list[FreeSlot]:
        if window.duration > MAX_SLOT_WINDOW:
            raise InvalidInput(
                f"ask for at most {MAX_SLOT_WINDOW.days} days of slots at once", field="to"
            )
        now = self._clock.now()
        horizon_end = now + self._policy.booking_horizon
        async with self._uow_factory() as uow:
            doctor = _require_doctor(await uow.doctors.get(doctor_id), doctor_id)
            availability = await uow.availability.get(doctor_id, window)
            busy = await uow.appointments.busy_slots(doctor_id, window)
        slots = availability.free_slots(
            window,
            length=doctor.visit_length,
            busy=busy,
            not_before=now + self._policy.minimum_notice,
        )
        return [FreeSlot(s, doctor.timezone) for s in slots if s.start <= horizon_end]
