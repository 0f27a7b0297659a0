"""Working hours and their exceptions (time off, extra hours), each change audited."""

from __future__ import annotations

from uuid import UUID

from hduce.application.access import ensure_self_or_admin
from hduce.application.ports import UnitOfWorkFactory
from hduce.application.use_case import UseCase, load
from hduce.domain.identity import Actor
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    TimeOff,
    WeeklyHours,
)


class GetWorkingHours:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, doctor_id: UUID) -> DoctorAvailability:
        async with self._uow_factory() as uow:
            await load(uow.doctors.get, doctor_id, "doctor")
            return await uow.availability.get(doctor_id)


class SetWorkingHours(UseCase):
    """Replace the doctor's weekly pattern (the doctor themself or an admin)."""

    async def __call__(self, actor: Actor, doctor_id: UUID, weekly: WeeklyHours) -> None:
        ensure_self_or_admin(actor, doctor_id, "change working hours")
        async with self.change(actor) as (uow, audit):
            await load(uow.doctors.get, doctor_id, "doctor")
            await uow.availability.replace_weekly(doctor_id, weekly)
            summary = {
                str(day): [str(i) for i in intervals] for day, intervals in weekly.days.items()
            }
            await audit("doctor.working_hours_set", "doctor", doctor_id, weekly=summary)


class AddTimeOff(UseCase):
    async def __call__(self, actor: Actor, doctor_id: UUID, time_off: TimeOff) -> UUID:
        ensure_self_or_admin(actor, doctor_id, "add time off")
        async with self.change(actor) as (uow, audit):
            await load(uow.doctors.get, doctor_id, "doctor")
            time_off_id = await uow.availability.add_time_off(doctor_id, time_off)
            await audit(
                "doctor.time_off_added",
                "doctor",
                doctor_id,
                starts_at=time_off.slot.start.isoformat(),
                ends_at=time_off.slot.end.isoformat(),
                reason=time_off.reason,
            )
        return time_off_id


class AddExtraHours(UseCase):
    async def __call__(self, actor: Actor, doctor_id: UUID, extra: ExtraHours) -> UUID:
        ensure_self_or_admin(actor, doctor_id, "add extra hours")
        async with self.change(actor) as (uow, audit):
            await load(uow.doctors.get, doctor_id, "doctor")
            extra_id = await uow.availability.add_extra_hours(doctor_id, extra)
            await audit(
                "doctor.extra_hours_added",
                "doctor",
                doctor_id,
                on=extra.on.isoformat(),
                interval=str(extra.interval),
            )
        return extra_id
