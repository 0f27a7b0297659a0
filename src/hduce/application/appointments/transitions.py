"""The state machine's moves on one appointment, each its own use case."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from hduce.application.appointments._shared import (
    AppointmentUseCase,
    audit_status,
    load_for_change,
)
from hduce.application.appointments.commands import TransitionCommand
from hduce.application.ports import UnitOfWork
from hduce.domain.appointments import Appointment


class _Transition(AppointmentUseCase):
    """Load the appointment locked, check the version, apply one domain command, save."""

    action: ClassVar[str] = "appointment.transition"
    serialized: ClassVar[bool] = False

    async def __call__(self, command: TransitionCommand) -> Appointment:
        async with self.change(command.actor, serialized=self.serialized) as (uow, audit):
            appointment = await load_for_change(
                uow, command.actor, command.appointment_id, command.expected_version
            )
            version_before = appointment.version
            now = self._clock.now()
            await self._apply(uow, appointment, command, now)
            await uow.appointments.save(appointment, expected_version=version_before)
            await audit_status(audit, appointment, self.action, now)
        return appointment

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        self._move(appointment, command, now)

    def _move(self, appointment: Appointment, command: TransitionCommand, now: datetime) -> None:
        """The domain command (most moves need nothing but the appointment)."""
        raise NotImplementedError


class ApproveAppointment(_Transition):
    action = "appointment.approved"
    serialized = True  # the overlap is re-checked in the same transaction

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        existing = await uow.appointments.occupying_overlapping(
            appointment.slot,
            doctor_id=appointment.doctor_id,
            patient_id=appointment.patient_id,
            blocked=appointment.blocked,
        )
        appointment.approve(actor=command.actor, now=now, existing=existing)


class RejectAppointment(_Transition):
    action = "appointment.rejected"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        a.reject(actor=c.actor, now=now, reason=c.reason)


class AcceptAppointment(_Transition):
    """The patient (or an admin for them) accepts a doctor's proposal: from then on
    the patient is in that doctor's care (``hduce.domain.privacy``)."""

    action = "appointment.accepted"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        a.accept(actor=c.actor, now=now)


class DeclineAppointment(_Transition):
    action = "appointment.declined"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        a.decline(actor=c.actor, now=now, reason=c.reason)


class CancelAppointment(_Transition):
    action = "appointment.cancelled"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        a.cancel(actor=c.actor, now=now, reason=c.reason, policy=self._policy)


class CheckInAppointment(_Transition):
    action = "appointment.checked_in"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        # ``reason``: who checked in for the system (a device), kept in the history.
        a.check_in(actor=c.actor, now=now, policy=self._policy, note=c.reason)


class CompleteAppointment(_Transition):
    action = "appointment.completed"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        a.complete(actor=c.actor, now=now, notes=c.notes)


class MarkNoShow(_Transition):
    action = "appointment.no_show"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        a.mark_no_show(actor=c.actor, now=now, policy=self._policy)


class EnterInError(_Transition):
    action = "appointment.entered_in_error"

    def _move(self, a: Appointment, c: TransitionCommand, now: datetime) -> None:
        a.enter_in_error(actor=c.actor, now=now, reason=c.reason)
