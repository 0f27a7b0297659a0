"""Reschedule: the old visit -> CANCELLED ("rescheduled") and a new booking, at once."""

from __future__ import annotations

from dataclasses import replace

from hduce.application.appointments._shared import (
    AppointmentUseCase,
    audit_status,
    load_for_change,
    visit_slot,
)
from hduce.application.appointments.commands import RescheduleCommand
from hduce.domain.appointments import Appointment
from hduce.domain.scheduling import ensure_utc


class RescheduleAppointment(AppointmentUseCase):
    """Old -> CANCELLED ("rescheduled") and a new booking, in one transaction; an
    occurrence of a series is relinked to its replacement."""

    async def __call__(self, command: RescheduleCommand) -> Appointment:
        async with self.change(command.actor, serialized=True) as (uow, audit):
            old = await load_for_change(
                uow, command.actor, command.appointment_id, command.expected_version
            )
            version_before = old.version
            # Without a new end the visit keeps its length (not the doctor's default).
            ends_at = (
                command.ends_at or ensure_utc(command.starts_at, "starts_at") + old.slot.duration
            )
            new_slot = await visit_slot(uow, old.doctor_id, command.starts_at, ends_at)
            now = self._clock.now()
            availability = await uow.availability.get(old.doctor_id, new_slot)
            existing = await uow.appointments.occupying_overlapping(
                new_slot,
                doctor_id=old.doctor_id,
                patient_id=old.patient_id,
                # The replacement keeps the buffers the visit was booked with.
                blocked=old.buffers.around(new_slot),
            )
            replacement = old.reschedule(
                actor=command.actor,
                new_slot=new_slot,
                now=now,
                policy=self._policy,
                availability=availability,
                existing=existing,
                reason=command.reason,
            )
            # Free the old slot first so the storage's own overlap check (an exclusion
            # constraint) does not see the two at once when the new one overlaps the old.
            await uow.appointments.save(old, expected_version=version_before)
            await uow.appointments.add(replacement)
            # An occurrence of a series stays one: the series now points at the
            # replacement, as a series reschedule does (ADR 0022).
            member = await uow.series.member_of(old.id)
            if member is not None:
                await uow.series.relink(replace(member, appointment_id=replacement.id))
            await audit_status(audit, old, "appointment.rescheduled_from", now)
            await audit_status(audit, replacement, "appointment.rescheduled_to", now)
        return replacement
