"""The guards of a new booking (``check_bookable``): time rules, working hours and
overlaps, checked before any appointment is created or moved (docs/architecture.md,
"The booking guards"). Kept apart from the aggregate, which calls them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.errors import BusinessRuleViolation, IllegalTransition, SlotConflict
from hduce.domain.identity import Actor
from hduce.domain.scheduling import (
    DoctorAvailability,
    Occupancy,
    SchedulingPolicy,
    TimeSlot,
    find_conflicts,
)


def check_bookable(
    *,
    slot: TimeSlot,
    patient_id: UUID,
    doctor_id: UUID,
    now: datetime,
    policy: SchedulingPolicy,
    availability: DoctorAvailability,
    existing: Iterable[Occupancy],
    ignore: Iterable[UUID] = (),
    to_status: AppointmentStatus = AppointmentStatus.PENDING,
    actor: Actor | None = None,
    blocked: TimeSlot | None = None,
) -> None:
    """The guards of "new -> PENDING/PROPOSED/APPROVED": time rules, working hours,
    conflicts (every conflicting appointment is named, with its parties)."""
    who = str(actor) if actor else "booking"
    if patient_id == doctor_id:
        raise BusinessRuleViolation("a doctor cannot book a visit with themselves", "self-booking")
    if slot.start < now:
        raise IllegalTransition("new", to_status, who, "the slot is in the past")
    if slot.start < now + policy.minimum_notice:
        raise BusinessRuleViolation(
            f"bookings need {minutes(policy.minimum_notice)} notice", "minimum-notice"
        )
    if slot.start > now + policy.booking_horizon:
        raise BusinessRuleViolation(
            f"bookings open {days(policy.booking_horizon)} ahead at most", "booking-horizon"
        )
    if slot.duration > policy.max_visit_length:
        raise BusinessRuleViolation("the visit is too long", "visit-too-long")
    if not availability.covers(slot):
        raise BusinessRuleViolation(
            "the slot is outside the doctor's working hours", "outside-working-hours"
        )
    conflicts = find_conflicts(
        slot,
        doctor_id=doctor_id,
        patient_id=patient_id,
        existing=existing,
        ignore=ignore,
        blocked=blocked,
    )
    if conflicts:
        raise SlotConflict.among(conflicts)


def minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} minutes"


def days(delta: timedelta) -> str:
    if delta % timedelta(days=1):
        return hours(delta)
    return f"{delta.days} days"


def hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} hours"
