"""Small builders shared by the domain tests: a cast of actors, a clock, appointments.

Plain functions and constants (no fixtures) so hypothesis tests can use them too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.identity import Actor, Role
from hduce.domain.scheduling import (
    DoctorAvailability,
    LocalInterval,
    Occupancy,
    SchedulingPolicy,
    TimeSlot,
    WeeklyHours,
)

S = AppointmentStatus

#: "Now" in most tests: Monday 2026-01-12 08:00 UTC.
NOW = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
#: The visit: Wednesday 2026-01-14 10:00-10:30 UTC, 50 hours after NOW.
START = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
VISIT = timedelta(minutes=30)
SLOT = TimeSlot.of(START, VISIT)

POLICY = (
    SchedulingPolicy()
)  # 1 h notice, 90 d horizon, 24 h cutoff, check-in -60/+30 min, 15 min grace

#: A doctor who works around the clock, in UTC, so only the guard under test can refuse.
ALWAYS_OPEN = DoctorAvailability(
    "UTC", WeeklyHours({day: (LocalInterval(time(0), time(0)),) for day in range(7)})
)


def uid(n: int) -> UUID:
    """Readable fixed ids: uid(1) == 00000000-0000-0000-0000-000000000001."""
    return UUID(int=n)


@dataclass(frozen=True)
class Cast:
    patient: Actor
    other_patient: Actor
    doctor: Actor
    other_doctor: Actor
    admin: Actor
    system: Actor

    def __getitem__(self, name: str) -> Actor:
        actor: Actor = getattr(self, name)
        return actor


CAST = Cast(
    patient=Actor(Role.PATIENT, uid(1)),
    other_patient=Actor(Role.PATIENT, uid(2)),
    doctor=Actor(Role.DOCTOR, uid(11)),
    other_doctor=Actor(Role.DOCTOR, uid(12)),
    admin=Actor(Role.ADMIN, uid(21)),
    system=Actor.system(),
)
ACTOR_NAMES = ("patient", "other_patient", "doctor", "other_doctor", "admin", "system")


def book(
    *,
    by: str = "patient",
    slot: TimeSlot = SLOT,
    now: datetime = NOW,
    approve: bool | None = None,
    existing: Iterable[Occupancy] = (),
    availability: DoctorAvailability = ALWAYS_OPEN,
    policy: SchedulingPolicy = POLICY,
    patient_id: UUID | None = None,
    doctor_id: UUID | None = None,
    reason: str = "check-up",
) -> Appointment:
    """Book CAST.patient with CAST.doctor (by default) as the named actor."""
    return Appointment.book(
        actor=CAST[by],
        patient_id=patient_id or _uid_of(CAST.patient),
        doctor_id=doctor_id or _uid_of(CAST.doctor),
        slot=slot,
        reason=reason,
        now=now,
        policy=policy,
        availability=availability,
        existing=existing,
        approve=approve,
    )


def _uid_of(actor: Actor) -> UUID:
    assert actor.user_id is not None
    return actor.user_id


def appointment_in(status: AppointmentStatus, *, slot: TimeSlot = SLOT) -> Appointment:
    """An appointment brought to ``status`` the ordinary way, its events already collected:
    a proposal by the doctor, else a request by the patient (the doctor approves it on
    the way to APPROVED and beyond)."""
    start = slot.start
    appointment = book(by="doctor" if status is S.PROPOSED else "patient", slot=slot)
    if status not in {S.PENDING, S.PROPOSED, S.REJECTED, S.CANCELLED, S.ENTERED_IN_ERROR}:
        appointment.approve(actor=CAST.doctor, now=NOW, existing=())
    if status is S.REJECTED:
        appointment.reject(actor=CAST.doctor, now=NOW, reason="fully booked")
    elif status is S.CANCELLED:
        appointment.cancel(actor=CAST.patient, now=NOW, reason="feeling better", policy=POLICY)
    elif status is S.ENTERED_IN_ERROR:
        appointment.enter_in_error(actor=CAST.admin, now=NOW, reason="duplicate")
    elif status is S.CHECKED_IN:
        appointment.check_in(actor=CAST.doctor, now=start - timedelta(minutes=5), policy=POLICY)
    elif status is S.COMPLETED:
        appointment.complete(actor=CAST.doctor, now=start + timedelta(minutes=1))
    elif status is S.NO_SHOW:
        appointment.mark_no_show(
            actor=CAST.doctor,
            now=start + POLICY.no_show_grace + timedelta(minutes=1),
            policy=POLICY,
        )
    assert appointment.status is status
    appointment.collect_events()
    return appointment


def snapshot(appointment: Appointment) -> dict[str, Any]:
    """Every field of the aggregate, lists copied: equal snapshots mean nothing changed."""
    return {
        f.name: tuple(value) if isinstance(value := getattr(appointment, f.name), list) else value
        for f in dataclasses.fields(appointment)
    }


@dataclass(frozen=True)
class Booked:
    """A minimal Occupancy for conflict tests."""

    id: UUID
    doctor_id: UUID
    patient_id: UUID
    slot: TimeSlot
    status: AppointmentStatus = S.APPROVED

    @property
    def is_occupying(self) -> bool:
        return self.status.is_occupying
