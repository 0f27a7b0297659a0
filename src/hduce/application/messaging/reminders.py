"""Reminders before approved visits (default 24 h and 1 h before).

Each (appointment, offset) pair is claimed once in the processed-events inbox
under a name-based UUID, in the same transaction that emits ``reminder.due``,
so any number of schedulers running at once send each reminder exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from hduce.application.ports import NO_METRICS, Clock, ReminderMetrics, UnitOfWorkFactory
from hduce.domain.appointments import Appointment
from hduce.domain.events import DomainEvent, ReminderDue

CONSUMER_NAME = "reminders"
DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=1))
_NAMESPACE = uuid5(NAMESPACE_URL, "https://hduce.dev/reminders")
#: A reminder sent this long after it fell due counts as late (the sweep runs every
#: minute: later than two sweeps means no scheduler ran, or one was stuck).
LATE_REMINDER = timedelta(minutes=2)


def reminder_key(appointment_id: UUID, offset: timedelta) -> UUID:
    return uuid5(_NAMESPACE, f"{appointment_id}:{int(offset.total_seconds())}")


class SendDueReminders:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
        metrics: ReminderMetrics = NO_METRICS,
    ) -> None:
        # No offsets is valid (HDUCE_REMINDER_OFFSETS=none): the sweep then sends nothing.
        if any(o <= timedelta(0) for o in offsets):
            raise ValueError("reminder offsets must be positive durations")
        self._uow_factory = uow_factory
        self._clock = clock
        self._offsets = tuple(sorted(offsets))  # smallest first
        self._metrics = metrics

    async def __call__(self) -> int:
        """Emit ``reminder.due`` for every reminder that fell due; returns how many."""
        if not self._offsets:
            return 0
        now = self._clock.now()
        async with self._uow_factory() as uow:
            upcoming = await uow.appointments.approved_starting_between(
                now, now + self._offsets[-1]
            )
        emitted = claimed_in_all = late = 0
        for appointment in upcoming:
            due = [o for o in self._offsets if appointment.starts_at - o <= now]
            if not due:
                continue
            async with self._uow_factory() as uow:
                claimed = [
                    o
                    for o in due
                    if await uow.processed_events.first_time(
                        CONSUMER_NAME, reminder_key(appointment.id, o)
                    )
                ]
                # Only the nearest due reminder is worth sending; the others are
                # claimed too so a late scheduler does not send a stale "in 24 h".
                if due[0] in claimed:
                    uow.emit(_reminder_event(appointment, due[0], now))
                await uow.commit()
            claimed_in_all += len(claimed)
            if due[0] in claimed:
                emitted += 1
                late += now - (appointment.starts_at - due[0]) > LATE_REMINDER
        self._metrics.reminders("due", claimed_in_all)
        self._metrics.reminders("sent", emitted)
        self._metrics.reminders("late", late)
        return emitted


def _reminder_event(appointment: Appointment, offset: timedelta, now: datetime) -> DomainEvent:
    return DomainEvent(
        occurred_at=now,
        aggregate_id=appointment.id,
        aggregate_version=appointment.version,
        payload=ReminderDue(
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            doctor_id=appointment.doctor_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            offset_seconds=int(offset.total_seconds()),
            status=appointment.status,
        ),
    )
