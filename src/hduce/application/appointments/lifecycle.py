"""Appointment use cases: book, move through the state machine, read.

Each command runs in one unit of work: load, let the domain decide, save, audit,
commit (the domain events reach the outbox in that same transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from hduce.application.access import ensure_can_view
from hduce.application.ports import (
    AppointmentQuery,
    Clock,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import InvalidInput, NotFound, PermissionDenied, StaleVersion
from hduce.domain.identity import Actor, Role
from hduce.domain.scheduling import SchedulingPolicy, TimeSlot, ensure_utc

# ------------------------------------------------------------------ commands


@dataclass(frozen=True, slots=True)
class BookAppointmentCommand:
    actor: Actor
    doctor_id: UUID
    starts_at: datetime
    patient_id: UUID | None = None  # defaults to the acting patient
    ends_at: datetime | None = None  # defaults to the doctor's visit length
    reason: str = ""
    approve: bool | None = None  # admins may book straight into APPROVED


@dataclass(frozen=True, slots=True)
class TransitionCommand:
    """approve / reject / cancel / check-in / complete / no-show / entered-in-error."""

    actor: Actor
    appointment_id: UUID
    expected_version: int | None = None  # from If-Match; None = whatever is current
    reason: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RescheduleCommand:
    actor: Actor
    appointment_id: UUID
    starts_at: datetime
    ends_at: datetime | None = None
    reason: str | None = None
    expected_version: int | None = None


# ------------------------------------------------------------------ helpers


async def _visit_slot(
    uow: UnitOfWork, doctor_id: UUID, starts_at: datetime, ends_at: datetime | None
) -> TimeSlot:
    doctor = await uow.doctors.get(doctor_id)
    account = await uow.users.get(doctor_id) if doctor is not None else None
    if doctor is None or account is None or not account.is_active:
        raise NotFound("doctor", doctor_id)
    start = ensure_utc(starts_at, "starts_at")
    end = ensure_utc(ends_at, "ends_at") if ends_at is not None else start + doctor.visit_length
    return TimeSlot(start, end)


def _audit(actor: Actor, at: datetime, appointment: Appointment, action: str) -> AuditEntry:
    last = appointment.history[-1]
    return AuditEntry.of(
        actor,
        at,
        action,
        "appointment",
        appointment.id,
        from_status=last.from_status.value if last.from_status else None,
        to_status=last.to_status.value,
        reason=last.reason,
        version=appointment.version,
    )


# ------------------------------------------------------------------ booking


class BookAppointment:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: SchedulingPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(self, command: BookAppointmentCommand) -> Appointment:
        actor = command.actor
        patient_id = command.patient_id
        if patient_id is None:
            if actor.role is not Role.PATIENT or actor.user_id is None:
                raise InvalidInput("patient_id is required", field="patient_id")
            patient_id = actor.user_id
        # serialized: the conflict check and the insert must not interleave with another
        # booking (SQLite's BEGIN IMMEDIATE; PostgreSQL also has exclusion constraints).
        async with self._uow_factory(serialized=True) as uow:
            patient = await uow.users.get(patient_id)
            if patient is None or patient.role is not Role.PATIENT or not patient.is_active:
                raise NotFound("patient", patient_id)
            slot = await _visit_slot(uow, command.doctor_id, command.starts_at, command.ends_at)
            now = self._clock.now()
            availability = await uow.availability.get(command.doctor_id, slot)
            existing = await uow.appointments.occupying_overlapping(
                slot, doctor_id=command.doctor_id, patient_id=patient_id
            )
            appointment = Appointment.book(
                actor=actor,
                patient_id=patient_id,
                doctor_id=command.doctor_id,
                slot=slot,
                reason=command.reason,
                now=now,
                policy=self._policy,
                availability=availability,
                existing=existing,
                approve=command.approve,
            )
            await uow.appointments.add(appointment)
            await uow.audit.add(_audit(actor, now, appointment, "appointment.booked"))
            await uow.commit()
        return appointment


# ------------------------------------------------------------------ transitions


class _Transition:
    """Load the appointment locked, check the version, apply one domain command, save."""

    action: str = "appointment.transition"
    serialized: bool = False

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: SchedulingPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(self, command: TransitionCommand) -> Appointment:
        async with self._uow_factory(serialized=self.serialized) as uow:
            appointment = await _load_for_change(
                uow, command.actor, command.appointment_id, command.expected_version
            )
            version_before = appointment.version
            now = self._clock.now()
            await self._apply(uow, appointment, command, now)
            await uow.appointments.save(appointment, expected_version=version_before)
            await uow.audit.add(_audit(command.actor, now, appointment, self.action))
            await uow.commit()
        return appointment

    async def _apply(
        self, uow: UnitOfWork, appointment: Appointment, command: TransitionCommand, now: datetime
    ) -> None:
        raise NotImplementedError


async def _load_for_change(
    uow: UnitOfWork, actor: Actor, appointment_id: UUID, expected_version: int | None
) -> Appointment:
    appointment = await uow.appointments.get(appointment_id, for_update=True)
    if appointment is None:
        raise NotFound("appointment", appointment_id)
    ensure_can_view(actor, appointment)
    if expected_version is not None and expected_version != appointment.version:
        raise StaleVersion("appointment", appointment_id, expected_version, appointment.version)
    return appointment


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


class RescheduleAppointment:
    """Old -> CANCELLED ("rescheduled") and a new booking, in one transaction."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: SchedulingPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(self, command: RescheduleCommand) -> Appointment:
        async with self._uow_factory(serialized=True) as uow:
            old = await _load_for_change(
                uow, command.actor, command.appointment_id, command.expected_version
            )
            version_before = old.version
            # Without a new end the visit keeps its length (not the doctor's default).
            ends_at = (
                command.ends_at or ensure_utc(command.starts_at, "starts_at") + old.slot.duration
            )
            new_slot = await _visit_slot(uow, old.doctor_id, command.starts_at, ends_at)
            now = self._clock.now()
            availability = await uow.availability.get(old.doctor_id, new_slot)
            existing = await uow.appointments.occupying_overlapping(
                new_slot, doctor_id=old.doctor_id, patient_id=old.patient_id
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
            await uow.audit.add(_audit(command.actor, now, old, "appointment.rescheduled_from"))
            await uow.audit.add(
                _audit(command.actor, now, replacement, "appointment.rescheduled_to")
            )
            await uow.commit()
        return replacement


# ------------------------------------------------------------------ system sweeps


class ExpireOverdueAppointments:
    """The system's side of the state machine: unanswered requests are cancelled at
    their start, approved visits nobody closed become NO_SHOW after the grace period."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: SchedulingPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(self) -> int:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            overdue = await uow.appointments.overdue(
                now, approved_before=now - self._policy.no_show_grace
            )
        changed = 0
        system = Actor.system()
        for candidate in overdue:
            async with self._uow_factory() as uow:
                appointment = await uow.appointments.get(candidate.id, for_update=True)
                if appointment is None or appointment.version != candidate.version:
                    continue  # someone else acted on it meanwhile
                version_before = appointment.version
                if appointment.status is AppointmentStatus.PENDING:
                    appointment.cancel(
                        actor=system,
                        now=now,
                        reason="not answered before the visit started",
                        policy=self._policy,
                    )
                else:
                    appointment.mark_no_show(actor=system, now=now, policy=self._policy)
                await uow.appointments.save(appointment, expected_version=version_before)
                await uow.audit.add(_audit(system, now, appointment, "appointment.expired"))
                await uow.commit()
                changed += 1
        return changed


# ------------------------------------------------------------------ queries


class GetAppointment:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, appointment_id: UUID) -> Appointment:
        async with self._uow_factory() as uow:
            appointment = await uow.appointments.get(appointment_id)
        if appointment is None:
            raise NotFound("appointment", appointment_id)
        ensure_can_view(actor, appointment)
        return appointment


class ListAppointments:
    """Role-filtered: patients see their own, doctors their calendar, admins all."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, query: AppointmentQuery) -> Page[Appointment]:
        if actor.role is Role.PATIENT:
            if query.patient_id not in (None, actor.user_id):
                raise PermissionDenied("patients list only their own appointments")
            query = replace(query, patient_id=actor.user_id)
        elif actor.role is Role.DOCTOR:
            if query.doctor_id not in (None, actor.user_id):
                raise PermissionDenied("doctors list only their own calendar")
            query = replace(query, doctor_id=actor.user_id)
        async with self._uow_factory() as uow:
            return await uow.appointments.list(query)
