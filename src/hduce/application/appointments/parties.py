"""One appointment with the names and emails of its patient and doctor.

What a calendar entry (iCalendar ORGANIZER / ATTENDEE) needs beyond the
appointment itself. Same visibility rule as ``GetAppointment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from hduce.application.appointments.queries import load_visible
from hduce.application.ports import UnitOfWork, UnitOfWorkFactory
from hduce.domain.appointments import Appointment
from hduce.domain.identity import Actor


@dataclass(frozen=True, slots=True)
class Party:
    user_id: UUID
    full_name: str
    email: str


@dataclass(frozen=True, slots=True)
class AppointmentWithParties:
    appointment: Appointment
    #: None when the account no longer exists (the appointment outlives it).
    patient: Party | None
    doctor: Party | None


class GetAppointmentWithParties:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, appointment_id: UUID) -> AppointmentWithParties:
        async with self._uow_factory() as uow:
            appointment = await load_visible(uow, actor, appointment_id)
            patient = await _party(uow, appointment.patient_id)
            doctor = await _party(uow, appointment.doctor_id)
        return AppointmentWithParties(appointment, patient, doctor)


async def _party(uow: UnitOfWork, user_id: UUID) -> Party | None:
    user = await uow.users.get(user_id)
    if user is None:
        return None
    return Party(user_id=user.id, full_name=user.full_name, email=user.email)
