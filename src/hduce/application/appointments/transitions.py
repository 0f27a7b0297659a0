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
        raise NotImplementedError


class ApproveAppointment(_Transition):
    action = "appointment.approved"
    serialized = True  # the overlap is re-checked in the same transaction

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        existing = await uow.appointments.occupying_overlapping(
            appointment.slot, doctor_id=appointment.doctor_id, patient_id=appointment.patient_id
        )
        appointment.approve(actor=command.actor, now=now, existing=existing)


class RejectAppointment(_Transition):
    action = "appointment.rejected"

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        appointment.reject(actor=command.actor, now=now, reason=command.reason)


class CancelAppointment(_Transition):
    action = "appointment.cancelled"

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        appointment.cancel(actor=command.actor, now=now, reason=command.reason, policy=self._policy)


class CheckInAppointment(_Transition):
    action = "appointment.checked_in"

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        appointment.check_in(actor=command.actor, now=now, policy=self._policy)


class CompleteAppointment(_Transition):
    action = "appointment.completed"

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        appointment.complete(actor=command.actor, now=now, notes=command.notes)


class MarkNoShow(_Transition):
    action = "appointment.no_show"

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        appointment.mark_no_show(actor=command.actor, now=now, policy=self._policy)


class EnterInError(_Transition):
    action = "appointment.entered_in_error"

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        appointment.enter_in_error(actor=command.actor, now=now, reason=command.reason)
