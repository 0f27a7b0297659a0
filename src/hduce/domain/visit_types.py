"""Visit types: a doctor's kinds of visit, each with its own booking rules.

A visit type (e.g. "First visit", 40 minutes) has a duration, buffers before and
after (preparation and notes: the doctor's time, not the patient's), a booking
horizon (how far ahead it may be booked) and a minimum notice. A booking made for a
type copies the duration and buffers onto the appointment (``VisitType.booking``),
so changing or deleting the type later never moves or stretches an existing booking.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from hduce.domain.errors import InvalidInput
from hduce.domain.scheduling import SchedulingPolicy, TimeSlot
from hduce.domain.text import plain_text

MIN_DURATION: Final = timedelta(minutes=5)
MAX_DURATION: Final = timedelta(hours=8)
#: Longest buffer on either side; bounds the storage's overlap queries (see the SQL
#: repository), so it is a storage invariant too.
MAX_BUFFER: Final = timedelta(hours=2)
MAX_HORIZON: Final = timedelta(days=730)
MAX_NOTICE: Final = timedelta(days=60)
MAX_NAME_LENGTH: Final = 120


@dataclass(frozen=True, slots=True)
class Buffers:
    """Time blocked before and after a visit (zero for a booking without a type)."""

    before: timedelta = timedelta(0)
    after: timedelta = timedelta(0)

    def around(self, slot: TimeSlot) -> TimeSlot:
        return TimeSlot(slot.start - self.before, slot.end + self.after)


NO_BUFFERS: Final = Buffers()


def _whole_minutes(value: timedelta, field: str, low: timedelta, high: timedelta) -> None:
    if value % timedelta(minutes=1):
        raise InvalidInput(f"{field} must be whole minutes", field=field)
    if not low <= value <= high:
        raise InvalidInput(
            f"{field} must be between {int(low.total_seconds() // 60)} and "
            f"{int(high.total_seconds() // 60)} minutes",
            field=field,
        )


@dataclass(frozen=True, slots=True)
class VisitType:
    id: UUID
    doctor_id: UUID
    name: str
    duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    booking_horizon: timedelta = timedelta(days=90)
    minimum_notice: timedelta = timedelta(hours=1)
    version: int = 1

    def __post_init__(self) -> None:
        name = plain_text(self.name, "name")
        if not name or len(name) > MAX_NAME_LENGTH:
            raise InvalidInput(f"name must be 1 to {MAX_NAME_LENGTH} characters", field="name")
        object.__setattr__(self, "name", name)
        _whole_minutes(self.duration, "duration_minutes", MIN_DURATION, MAX_DURATION)
        _whole_minutes(self.buffer_before, "buffer_before_minutes", timedelta(0), MAX_BUFFER)
        _whole_minutes(self.buffer_after, "buffer_after_minutes", timedelta(0), MAX_BUFFER)
        _whole_minutes(self.minimum_notice, "minimum_notice_minutes", timedelta(0), MAX_NOTICE)
        if self.booking_horizon % timedelta(days=1) or not (
            timedelta(days=1) <= self.booking_horizon <= MAX_HORIZON
        ):
            raise InvalidInput(
                f"booking_horizon_days must be whole days from 1 to {MAX_HORIZON.days}",
                field="booking_horizon_days",
            )

    @property
    def buffers(self) -> Buffers:
        return Buffers(self.buffer_before, self.buffer_after)

    def slot_at(self, start: datetime) -> TimeSlot:
        return TimeSlot.of(start, self.duration)

    def policy(self, clinic: SchedulingPolicy) -> SchedulingPolicy:
        """The clinic's policy with this type's horizon and notice in force."""
        return replace(
            clinic, minimum_notice=self.minimum_notice, booking_horizon=self.booking_horizon
        )
