"""The waitlist: patients waiting for a doctor's time window, and the offers of freed slots.

A patient joins a doctor's waitlist for a window, optionally for one of the doctor's
visit types (and with a free-text label kept as given). When a slot of that doctor
frees, the first waiting patient whose window holds the visit they would get gets an
*offer*, held for a while; accepting books it, declining or letting it expire passes
it to the next one in line. Someone waiting for a visit type is offered a visit of
that type at the freed start, and only if it fits, buffers included, in the doctor's
time the freed appointment took (``offered_visit``). The rules are pure functions
here; the storage keeps at most one live offer per (doctor, slot start).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID

from hduce.domain.errors import BusinessRuleViolation, InvalidInput
from hduce.domain.scheduling import TimeSlot
from hduce.domain.visit_types import VisitType

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
    visit_type: str | None = None  # a free-text label, kept as given
    status: EntryStatus = EntryStatus.WAITING
    #: The doctor's visit type wanted: the offered visit is of its length and buffers.
    visit_type_id: UUID | None = None

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
        kind: VisitType | None = None,
    ) -> WaitlistEntry:
        if window.end <= now:
            raise InvalidInput("the window has passed already", field="latest")
        if window.end - window.start > MAX_WINDOW:
            raise InvalidInput(f"a window may span at most {MAX_WINDOW.days} days", field="latest")
        if kind is not None and kind.doctor_id != doctor_id:
            raise InvalidInput("that visit type is another doctor's", field="visit_type_id")
        if kind is not None and window.end - window.start < kind.duration:
            raise InvalidInput("the window is shorter than the visit type", field="latest")
        return cls(
            entry_id,
            patient_id,
            doctor_id,
            window,
            now,
            visit_type,
            visit_type_id=kind.id if kind is not None else None,
        )

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


@dataclass(frozen=True, slots=True)
class FreedTime:
    """What a freed appointment gave back: its visit, and the doctor's time it blocked
    (the visit with its buffers; the visit itself for one without buffers)."""

    visit: TimeSlot
    blocked: TimeSlot

    @classmethod
    def of(cls, visit: TimeSlot, blocked: TimeSlot | None = None) -> FreedTime:
        return cls(visit, blocked if blocked is not None else visit)


def offered_visit(
    entry: WaitlistEntry, freed: FreedTime, kinds: Mapping[UUID, VisitType]
) -> TimeSlot | None:
    """The visit ``entry`` would be offered of ``freed``: the freed visit itself for an
    entry without a visit type; for one with a type, a visit of the type's length at
    the freed start, if its blocked range (buffers included) lies within the freed
    blocked range (else, or if the type is gone from ``kinds``, none)."""
    if entry.visit_type_id is None:
        return freed.visit
    kind = kinds.get(entry.visit_type_id)
    if kind is None or kind.doctor_id != entry.doctor_id:
        return None
    visit = kind.slot_at(freed.visit.start)
    blocked = kind.buffers.around(visit)
    if blocked.start < freed.blocked.start or blocked.end > freed.blocked.end:
        return None
    return visit


def next_in_line(
    entries: Iterable[WaitlistEntry],
    *,
    doctor_id: UUID,
    slot: TimeSlot | FreedTime,
    now: datetime,
    passed_over: Iterable[UUID] = (),
    visit_type: str | None = None,
    kinds: Mapping[UUID, VisitType] | None = None,
) -> WaitlistEntry | None:
    """Who is offered a freed slot: the earliest-joined matching entry (ties by id) of a
    patient not passed over for this slot yet (offered before, or the one who freed it).
    An entry matches if the visit it would be offered (``offered_visit``; ``kinds``: the
    doctor's visit types) lies wholly in its window. Nobody, for a slot that has
    started."""
    freed = slot if isinstance(slot, FreedTime) else FreedTime.of(slot)
    if freed.visit.start <= now:
        return None
    skip = set(passed_over)
    waiting = []
    for entry in entries:
        visit = offered_visit(entry, freed, kinds or {})
        if (
            visit is not None
            and entry.matches(doctor_id, visit, visit_type)
            and entry.patient_id not in skip
        ):
            waiting.append(entry)
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
    #: The appointment whose end freed the slot (None: unknown; the slot is the freed time).
    freed_appointment_id: UUID | None = None

    @classmethod
    def make(
        cls,
        *,
        offer_id: UUID,
        entry: WaitlistEntry,
        slot: TimeSlot,
        now: datetime,
        hold: timedelta,
        freed_appointment_id: UUID | None = None,
    ) -> WaitlistOffer:
        # Held for ``hold``, but never past the visit's start.
        expires_at = min(now + hold, slot.start)
        return cls(
            offer_id,
            entry.id,
            entry.patient_id,
            entry.doctor_id,
            slot,
            now,
            expires_at,
            freed_appointment_id=freed_appointment_id,
        )

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
