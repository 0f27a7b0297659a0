"""Working hours and their exceptions (time off, extra hours), each change audited."""

from __future__ import annotations

from uuid import UUID

from hduce.application.access import ensure_self_or_admin
from hduce.application.ports import Clock, UnitOfWorkFactory
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor
from hduce.domain.errors import NotFound
from hduce.domain.identity import Actor
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    TimeOff,
    WeeklyHours,
)


class _DoctorAvailabilityCommand:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock


def require_doctor(doctor: Doctor | None, doctor_id: UUID) -> Doctor:
    if doctor is None:
        raise NotFound("doctor", doctor_id)
    return doctor


class GetWorkingHours(_DoctorAvailabilityCommand):
    async def __call__(self, doctor_id: UUID) -> DoctorAvailability:
        async with self._uow_factory() as uow:
            require_doctor(await uow.doctors.get(doctor_id), doctor_id)
            return await uow.availability.get(doctor_id)


class SetWorkingHours(_DoctorAvailabilityCommand):
    """Replace the doctor's weekly pattern (the doctor themself or an admin)."""

    async def __call__(self, actor: Actor, doctor_id: UUID, weekly: WeeklyHours) -> None:
        ensure_self_or_admin(actor, doctor_id, "change working hours")
        async with self._uow_factory() as uow:
            require_doctor(await uow.doctors.get(doctor_id), doctor_id)
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
            require_doctor(await uow.doctors.get(doctor_id), doctor_id)
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
            require_doctor(await uow.doctors.get(doctor_id), doctor_id)
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
