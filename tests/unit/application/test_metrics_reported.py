"""What the use cases report to their metrics ports (``AppointmentMetrics``,
``ReminderMetrics``): bookings by outcome, the conflict check's time, committed
status moves only, and reminders due, sent and late."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand, TransitionCommand
from hduce.application.appointments.expiry import ExpireOverdueAppointments
from hduce.application.appointments.transitions import ApproveAppointment, RejectAppointment
from hduce.application.messaging.reminders import SendDueReminders
from hduce.application.ports import BookingOutcome, ReminderOutcome
from hduce.domain.errors import BusinessRuleViolation, IllegalTransition, SlotConflict
from tests.unit.application.support import ALWAYS_OPEN, NOW, SATURDAY, TUESDAY, Clinic, local


class RecordingMetrics:
    def __init__(self) -> None:
        self.bookings: Counter[BookingOutcome] = Counter()
        self.checks: list[float] = []
        self.moves: Counter[tuple[str, str]] = Counter()
        self.reminder_counts: Counter[ReminderOutcome] = Counter()

    def booking(self, outcome: BookingOutcome) -> None:
        self.bookings[outcome] += 1

    def conflict_check(self, seconds: float) -> None:
        self.checks.append(seconds)

    def transition(self, from_status: str, to_status: str) -> None:
        self.moves[from_status, to_status] += 1

    def reminders(self, outcome: ReminderOutcome, count: int) -> None:
        self.reminder_counts[outcome] += count


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


def _command(clinic: Clinic, by: str, at_hhmm: str, day: date = TUESDAY) -> BookAppointmentCommand:
    return BookAppointmentCommand(
        actor=clinic.actor(by),
        doctor_id=clinic.people.doctor.id,
        patient_id=None,
        starts_at=local(day, at_hhmm),
        ends_at=None,
        reason="check-up",
        approve=None,
    )


async def test_bookings_are_counted_by_outcome(clinic: Clinic, metrics: RecordingMetrics) -> None:
    book = BookAppointment(clinic.uow_factory, clinic.clock, clinic.policy, metrics)

    await book(_command(clinic, "patient", "10:00"))
    with pytest.raises(SlotConflict):
        await book(_command(clinic, "other_patient", "10:00"))
    with pytest.raises(BusinessRuleViolation):
        await book(_command(clinic, "other_patient", "10:00", SATURDAY))

    assert metrics.bookings == {"created": 1, "conflict": 1, "refused": 1}
    assert len(metrics.checks) == 3
    assert all(0 <= seconds < 5 for seconds in metrics.checks)
    assert metrics.moves == {}  # a booking is no move of an existing appointment


async def test_only_committed_moves_are_counted(clinic: Clinic, metrics: RecordingMetrics) -> None:
    f, c, p = clinic.uow_factory, clinic.clock, clinic.policy
    request = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    approve = ApproveAppointment(f, c, p, metrics)
    reject = RejectAppointment(f, c, p, metrics)

    await approve(TransitionCommand(clinic.actor("doctor"), request.id, expected_version=1))
    with pytest.raises(IllegalTransition):  # approved visits are not rejected
        await reject(TransitionCommand(clinic.actor("doctor"), request.id, reason="no"))

    assert metrics.moves == {("pending", "approved"): 1}


async def test_the_sweeps_moves_are_counted(clinic: Clinic, metrics: RecordingMetrics) -> None:
    await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    clinic.clock.set(local(TUESDAY, "10:01"))

    await ExpireOverdueAppointments(clinic.uow_factory, clinic.clock, clinic.policy, metrics)()

    assert metrics.moves == {("pending", "cancelled"): 1}


async def test_reminders_due_sent_and_late(clinic: Clinic, metrics: RecordingMetrics) -> None:
    doctor = clinic.people.doctor
    await clinic.set_working_hours(doctor.actor, doctor.id, ALWAYS_OPEN)
    run_at = NOW + timedelta(days=2)
    for lead in (
        timedelta(hours=30),  # nothing due yet
        timedelta(hours=20),  # the 24 h reminder, 4 h late
        timedelta(minutes=30),  # both due (both claimed), the 1 h one sent, 30 min late
        timedelta(hours=24) - timedelta(seconds=30),  # the 24 h one, due 30 s ago: on time
    ):
        await clinic.book("admin", patient="patient", starts_at=run_at + lead, approve=True)
    clinic.clock.set(run_at)
    sweep = SendDueReminders(
        clinic.uow_factory, clinic.clock, (timedelta(hours=24), timedelta(hours=1)), metrics
    )

    assert await sweep() == 3
    assert await sweep() == 0  # nothing claimed twice

    assert metrics.reminder_counts == {"due": 4, "sent": 3, "late": 2}
