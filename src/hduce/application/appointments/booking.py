"""Booking: a new appointment, checked against hours, notice, horizon and overlaps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from hduce.application.access import ensure_can_book
from hduce.application.appointments._shared import AppointmentUseCase, audit_status
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.visit_types import visit_type_of
from hduce.domain.appointments import Appointment
from hduce.domain.errors import (
    BusinessRuleViolation,
    EmailNotVerified,
    InvalidInput,
    NotFound,
    SlotConflict,
)
from hduce.domain.identity import Role
from hduce.domain.scheduling import TimeSlot, ensure_utc
from hduce.domain.visit_types import NO_BUFFERS

#: Why an unverified patient may not book (a typo in the address would send the
#: visit's details to a stranger; ADR 0015).
EMAIL_NOT_VERIFIED = (
    "confirm your email address before booking: open the link we emailed you, or ask "
    "for a new one at POST /api/v1/auth/verify-email/resend"
)

#: The window a booking reads the doctor's hours for when the request gives no end: a
#: visit's length comes from the doctor's visit length or a visit type, each at most
#: 480 minutes (their CHECK constraints).
LONGEST_DEFAULT_VISIT = timedelta(minutes=480)


def _window(starts_at: datetime, ends_at: datetime | None) -> TimeSlot:
    """The instants whose hours and time off a booking starting at ``starts_at`` reads
    before it knows the visit's length. Only a filter on what is read: a naive time is
    taken as UTC here, and refused right after (``ensure_utc``) where it always was."""
    start = starts_at if starts_at.tzinfo is not None else starts_at.replace(tzinfo=UTC)
    end = start + LONGEST_DEFAULT_VISIT
    if ends_at is not None:
        asked = ends_at if ends_at.tzinfo is not None else ends_at.replace(tzinfo=UTC)
        end = max(asked, start + timedelta(microseconds=1))
    return TimeSlot(start, end)


class BookAppointment(AppointmentUseCase):
    async def __call__(self, command: BookAppointmentCommand) -> Appointment:
        try:
            appointment = await self._book(command)
        except SlotConflict:
            self._metrics.booking("conflict")
            raise
        except BusinessRuleViolation:
            self._metrics.booking("refused")
            raise
        self._metrics.booking("created")
        return appointment

    async def _book(self, command: BookAppointmentCommand) -> Appointment:
        actor = command.actor
        patient_id = command.patient_id
        if patient_id is None:
            if actor.role is not Role.PATIENT or actor.user_id is None:
                raise InvalidInput("patient_id is required", field="patient_id")
            patient_id = actor.user_id
        # Before any lookup: whoever may not book for them learns nothing about the ids.
        ensure_can_book(actor, patient_id, command.doctor_id)
        # serialized: the conflict check and the insert must not interleave with another
        # booking (SQLite's BEGIN IMMEDIATE; PostgreSQL also has exclusion constraints).
        async with self.change(actor, serialized=True) as (uow, audit):
            # One read for the patient, the doctor and the doctor's hours (the booking's
            # hot path); the checks below run in the order they always did.
            window = _window(command.starts_at, command.ends_at)
            facts = await uow.availability.for_booking(command.doctor_id, patient_id, window)
            patient = facts.patient
            if patient is None or patient.role is not Role.PATIENT or not patient.is_active:
                raise NotFound("patient", patient_id)
            if (
                self._policy.require_verified_email
                and actor.is_user(patient_id)
                and not patient.email_verified
            ):
                raise EmailNotVerified(EMAIL_NOT_VERIFIED)
            if facts.visit_length is None or facts.availability is None:
                raise NotFound("doctor", command.doctor_id)
            start = ensure_utc(command.starts_at, "starts_at")
            end = (
                ensure_utc(command.ends_at, "ends_at")
                if command.ends_at is not None
                else start + facts.visit_length
            )
            slot = TimeSlot(start, end)
            policy, buffers = self._policy, NO_BUFFERS
            if command.visit_type_id is not None:
                kind = await visit_type_of(uow, command.doctor_id, command.visit_type_id)
                if command.ends_at is not None:
                    raise InvalidInput(
                        "leave ends_at out: the visit type sets the visit's length",
                        field="ends_at",
                    )
                # Copied onto the appointment: a later change of the type moves nothing.
                slot, policy, buffers = kind.slot_at(slot.start), kind.policy(policy), kind.buffers
            now = self._clock.now()
            availability = facts.availability
            if not window.contains(slot):
                # Only when the slot outgrew the window read above (not for any slot
                # that can be booked: visits last at most LONGEST_DEFAULT_VISIT).
                availability = await uow.availability.get(command.doctor_id, slot)
            checking = time.perf_counter()
            try:
                existing = await uow.appointments.occupying_overlapping(
                    slot,
                    doctor_id=command.doctor_id,
                    patient_id=patient_id,
                    blocked=buffers.around(slot),
                )
                appointment = Appointment.book(
                    actor=actor,
                    patient_id=patient_id,
                    doctor_id=command.doctor_id,
                    slot=slot,
                    reason=command.reason,
                    now=now,
                    policy=policy,
                    availability=availability,
                    existing=existing,
                    approve=command.approve,
                    visit_type_id=command.visit_type_id,
                    buffers=buffers,
                )
                await uow.appointments.add(appointment)
            finally:
                self._metrics.conflict_check(time.perf_counter() - checking)
            await audit_status(audit, appointment, "appointment.booked", now)
        return appointment
