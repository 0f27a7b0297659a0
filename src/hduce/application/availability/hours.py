"""Working hours and their exceptions (time off, extra hours), each change audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from hduce.application.access import ensure_admin_of, ensure_self_or_admin
from hduce.application.institutions import ensure_workplace
from hduce.application.ports import UnitOfWork, UnitOfWorkFactory
from hduce.application.use_case import Audit, UseCase, load
from hduce.domain.clinic import Doctor
from hduce.domain.errors import BusinessRuleViolation
from hduce.domain.identity import Actor
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    TimeOff,
    WeeklyHours,
    check_extra_hours_place,
    replace_institution_hours,
)


class GetWorkingHours:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, doctor_id: UUID) -> DoctorAvailability:
        async with self._uow_factory() as uow:
            await load(uow.doctors.get, doctor_id, "doctor")
            return await uow.availability.get(doctor_id)


class _CalendarChange(UseCase):
    """A change to a doctor's calendar: by the doctor themself or an admin."""

    @asynccontextmanager
    async def _calendar(
        self, actor: Actor, doctor_id: UUID, what: str, institution_id: UUID | None
    ) -> AsyncIterator[tuple[UnitOfWork, Audit, Doctor]]:
        # Before the lookup: a stranger does not learn which doctors exist.
        ensure_self_or_admin(actor, doctor_id, what)
        if not actor.is_user(doctor_id):
            # An admin scoped to an institution (ADR 0026): only the hours there; the
            # unassigned hours and time off (which covers every place) are global.
            ensure_admin_of(actor, institution_id, what)
        # Serialized: the hours are checked against the doctor's other places, then written.
        async with self.change(actor, serialized=True) as (uow, audit):
            yield uow, audit, await load(uow.doctors.get, doctor_id, "doctor")


class SetWorkingHours(_CalendarChange):
    """Replace the doctor's weekly pattern at one place: at ``institution_id``, or the
    unassigned hours when it is None (for a doctor with no institution: the whole week,
    as before institutions). The hours kept at other places must not overlap the new
    ones (``replace_institution_hours``: a doctor is in one place at a time); the
    doctor must work at the institution, which must be active.

    The calendar is read, checked and written under ``uow.availability.lock``, in a
    serialized unit of work: two changes of one doctor's hours at two places cannot
    both pass the check and overlap.

    ``timezone``, when the caller says which zone the hours are meant for, must be
    the doctor's: hours written for another zone would land at the wrong instants.
    Returns the doctor's availability as stored, read in the same transaction.
    """

    async def __call__(
        self,
        actor: Actor,
        doctor_id: UUID,
        weekly: WeeklyHours,
        *,
        timezone: str | None = None,
        institution_id: UUID | None = None,
    ) -> DoctorAvailability:
        async with self._calendar(actor, doctor_id, "change working hours", institution_id) as (
            uow,
            audit,
            doctor,
        ):
            if timezone is not None and timezone != doctor.timezone:
                raise BusinessRuleViolation(
                    f"these hours are meant for {timezone}, but the doctor works in "
                    f"{doctor.timezone}; change the doctor's timezone first",
                    rule="timezone-mismatch",
                )
            await uow.availability.lock(doctor_id)
            if institution_id is not None:
                await ensure_workplace(uow, doctor_id, institution_id)
            current = await uow.availability.get(doctor_id)
            merged = replace_institution_hours(current.weekly, institution_id, weekly)
            await uow.availability.replace_weekly(doctor_id, merged)
            summary = {
                str(day): [str(i) for i in intervals] for day, intervals in weekly.days.items()
            }
            await audit(
                "doctor.working_hours_set",
                "doctor",
                doctor_id,
                weekly=summary,
                institution_id=str(institution_id) if institution_id else None,
            )
            return await uow.availability.get(doctor_id)


class AddTimeOff(_CalendarChange):
    async def __call__(self, actor: Actor, doctor_id: UUID, time_off: TimeOff) -> UUID:
        async with self._calendar(actor, doctor_id, "add time off", None) as (uow, audit, _):
            time_off_id = await uow.availability.add_time_off(doctor_id, time_off)
            slot = time_off.slot
            await audit(
                "doctor.time_off_added",
                "doctor",
                doctor_id,
                starts_at=slot.start.isoformat(),
                ends_at=slot.end.isoformat(),
                reason=time_off.reason,
            )
        return time_off_id


class AddExtraHours(_CalendarChange):
    async def __call__(self, actor: Actor, doctor_id: UUID, extra: ExtraHours) -> UUID:
        institution_id = extra.interval.institution_id
        async with self._calendar(actor, doctor_id, "add extra hours", institution_id) as (
            uow,
            audit,
            _,
        ):
            await uow.availability.lock(doctor_id)
            if institution_id is not None:
                await ensure_workplace(uow, doctor_id, institution_id)
            check_extra_hours_place(await uow.availability.get(doctor_id), extra)
            extra_id = await uow.availability.add_extra_hours(doctor_id, extra)
            await audit(
                "doctor.extra_hours_added",
                "doctor",
                doctor_id,
                on=extra.on.isoformat(),
                interval=str(extra.interval),
                institution_id=str(institution_id) if institution_id else None,
            )
        return extra_id
