"""The waitlist: patients waiting for a doctor's time window, and the offers of freed slots.

A patient joins a doctor's waitlist for a window (and, optionally, a visit type kept as
an opaque label). When a slot of that doctor frees, the first waiting patient whose
window holds it gets an *offer*, held for a while; accepting books the slot, declining
or letting it expire passes it to the next one in line. The rules are pure functions
here; the storage keeps at most one live offer per (doctor, slot start).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID

from hduce.domain.errors import BusinessRuleViolation, InvalidInput
from hduce.domain.scheduling import TimeSlot

#: The longest window one may wait for.
MAX_WINDOW: Final = timedelta(days=92)


class EntryStatus(StrEnum):
    WAITING = "waiting"
    LEFT = "left"  # the patient left the waitlist
    BOOKED = "booked"  # an offer of it was accepted and booked


class OfferStatus(StrEnum):
    OFFERED = "offered"  # live: the patient may accept or decline until it expires
    ACCEPTING = "accepting"  # live: accepted, the booking is being made
    BOOKED = "booked"
    DECLINED = "declined"
    EXPIRED = "expired"
    LAPSED = "lapsed"  # accepted, but the slot could not be booked any more


#: Offers that hold their slot: at most one per (doctor, slot start).
LIVE_OFFER_STATUSES: Final = frozenset({OfferStatus.OFFERED, OfferStatus.ACCEPTING})


@dataclass(slots=True, eq=False)
class WaitlistEntry:
    id: UUID
    patient_id: UUID
    doctor_id: UUID
    window: TimeSlot
    created_at: datetime
    visit_type: str | None = None  # opaque label, matched only when both sides name one
    status: EntryStatus = EntryStatus.WAITING

    @classmethod
    def join(
        cls,
        *,
        entry_id: UUID,
        patient_id: UUID,
        doctor_id: UUID,
        window: TimeSlot,
        now: datetime,
        visit_type: str | None = None,
    ) -> WaitlistEntry:
        if window.end <= now:
            raise InvalidInput("the window has passed already", field="latest")
        if window.end - window.start > MAX_WINDOW:
            raise InvalidInput(f"a window may span at most {MAX_WINDOW.days} days", field="latest")
        return cls(entry_id, patient_id, doctor_id, window, now, visit_type)

    def leave(self) -> None:
        if self.status is not EntryStatus.WAITING:
            raise BusinessRuleViolation(f"this waitlist entry is {self.status.value} already")
        self.status = EntryStatus.LEFT

    def matches(self, doctor_id: UUID, slot: TimeSlot, visit_type: str | None = None) -> bool:
        """Waiting for this doctor, the slot wholly inside the window, same visit type
        when both name one."""
        return (
            self.status is EntryStatus.WAITING
            and self.doctor_id == doctor_id
            and self.window.start <= slot.start
            and slot.end <= self.window.end
            and (visit_type is None or self.visit_type is None or visit_type == self.visit_type)
        )


def next_in_line(
    entries: Iterable[WaitlistEntry],
    *,
    doctor_id: UUID,
    slot: TimeSlot,
    now: datetime,
    passed_over: Iterable[UUID] = (),
    visit_type: str | None = None,
) -> WaitlistEntry | None:
    """Who is offered a freed slot: the earliest-joined matching entry (ties by id) of a
    patient not passed over for this slot yet (offered before, or the one who freed it).
    Nobody, for a slot that has started."""
    if slot.start <= now:
        return None
    skip = set(passed_over)
    waiting = [
        entry
        for entry in entries
        if entry.matches(doctor_id, slot, visit_type) and entry.patient_id not in skip
    ]
    return min(waiting, key=lambda entry: (entry.created_at, entry.id), default=None)


@dataclass(slots=True, eq=False)
class WaitlistOffer:
    id: UUID
    entry_id: UUID
    patient_id: UUID
    doctor_id: UUID
    slot: TimeSlot
    created_at: datetime
    expires_at: datetime
    status: OfferStatus = OfferStatus.OFFERED
    appointment_id: UUID | None = None
    version: int = 1

    @classmethod
    def make(
        cls, *, offer_id: UUID, entry: WaitlistEntry, slot: TimeSlot, now: datetime, hold: timedelta
    ) -> WaitlistOffer:
        # Held for ``hold``, but never past the visit's start.
        expires_at = min(now + hold, slot.start)
        return cls(offer_id, entry.id, entry.patient_id, entry.doctor_id, slot, now, expires_at)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_OFFER_STATUSES

    def _ensure_open(self, now: datetime) -> None:
        if self.status is not OfferStatus.OFFERED:
            raise BusinessRuleViolation(f"this offer is {self.status.value}, not open any more")
        if now >= self.expires_at:
            raise BusinessRuleViolation("this offer has expired")

    def begin_accept(self, now: datetime, deadline: timedelta) -> None:
        """Accepted: the booking is being made. While ``accepting``, ``expires_at`` is
        the acceptance's deadline: an offer still accepting after it was left by a
        process that died before finishing (``recover``)."""
        self._ensure_open(now)
        self.expires_at = now + deadline
        self._move(OfferStatus.ACCEPTING)

    def recover(self, now: datetime, appointment_id: UUID | None) -> None:
        """Settle an acceptance stuck past its deadline: ``booked`` if its booking was
        made (``appointment_id``: the patient's appointment in the slot), else
        ``lapsed`` (the slot then passes on)."""
        if self.status is not OfferStatus.ACCEPTING or now < self.expires_at:
            raise BusinessRuleViolation("only an acceptance past its deadline is recovered")
        if appointment_id is not None:
            self.booked(appointment_id)
        else:
            self.lapse()

    def decline(self, now: datetime) -> None:
        self._ensure_open(now)
        self._move(OfferStatus.DECLINED)

    def expire(self, now: datetime) -> None:
        if self.status is not OfferStatus.OFFERED or now < self.expires_at:
            raise BusinessRuleViolation("only an open offer past its hold time expires")
        self._move(OfferStatus.EXPIRED)

    def booked(self, appointment_id: UUID) -> None:
        if self.status is not OfferStatus.ACCEPTING:
            raise BusinessRuleViolation("only an accepted offer is booked")
        self.appointment_id = appointment_id
        self._move(OfferStatus.BOOKED)

    def lapse(self) -> None:
        if self.status is not OfferStatus.ACCEPTING:
            raise BusinessRuleViolation("only an accepted offer lapses")
        self._move(OfferStatus.LAPSED)

    def _move(self, status: OfferStatus) -> None:
        self.status = status
        self.version += 1
