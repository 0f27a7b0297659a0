"""The waitlist's rules, as properties over random waitlists, slots and answers.

- who is offered a freed slot: a waiting entry of that doctor whose window wholly holds
  the slot, of a patient not passed over, the earliest-joined (ties by id); nobody for a
  slot that has started;
- the choice is a pure function of the set of entries (their order does not matter);
- passing over the chosen one gives the next in line, until nobody is left, and every
  matching patient is offered exactly once;
- an offer is held until ``now + hold`` but never past the visit's start, is answered
  once, and only a live offer (offered, being accepted) holds its slot; an acceptance
  has a deadline, past which (only) it is recovered as booked or lapsed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.errors import BusinessRuleViolation, InvalidInput
from hduce.domain.scheduling import TimeSlot
from hduce.domain.waitlist import (
    LIVE_OFFER_STATUSES,
    EntryStatus,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
    next_in_line,
)

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
DOCTORS = (UUID(int=1), UUID(int=2))
HOUR = timedelta(hours=1)


def _uid(n: int) -> UUID:
    return UUID(int=1000 + n)


@st.composite
def entries(draw: st.DrawFn) -> WaitlistEntry:
    start = NOW + HOUR * draw(st.integers(0, 48))
    length = HOUR * draw(st.integers(1, 24))
    return WaitlistEntry(
        id=_uid(draw(st.integers(0, 10_000))),
        patient_id=_uid(draw(st.integers(0, 8))),
        doctor_id=draw(st.sampled_from(DOCTORS)),
        window=TimeSlot(start, start + length),
        created_at=NOW - timedelta(minutes=draw(st.integers(0, 30))),
        status=draw(st.sampled_from(list(EntryStatus))),
    )


def _unique(items: list[WaitlistEntry]) -> list[WaitlistEntry]:
    seen: dict[UUID, WaitlistEntry] = {}
    for entry in items:
        seen.setdefault(entry.id, entry)
    return list(seen.values())


waitlists = st.lists(entries(), max_size=25).map(_unique)
slots = st.builds(
    lambda hours, minutes: TimeSlot(
        NOW + HOUR * hours, NOW + HOUR * hours + timedelta(minutes=minutes)
    ),
    st.integers(-2, 72),
    st.sampled_from([15, 30, 60, 90]),
)


def _matching(waitlist: list[WaitlistEntry], doctor: UUID, slot: TimeSlot) -> list[WaitlistEntry]:
    return [
        e
        for e in waitlist
        if e.status is EntryStatus.WAITING
        and e.doctor_id == doctor
        and e.window.start <= slot.start
        and slot.end <= e.window.end
    ]


@given(waitlists, slots, st.sampled_from(DOCTORS), st.sets(st.integers(0, 8), max_size=4))
def test_the_earliest_joined_matching_entry_not_passed_over_is_chosen(
    waitlist: list[WaitlistEntry], slot: TimeSlot, doctor: UUID, skipped: set[int]
) -> None:
    passed_over = {_uid(n) for n in skipped}
    chosen = next_in_line(waitlist, doctor_id=doctor, slot=slot, now=NOW, passed_over=passed_over)
    eligible = [e for e in _matching(waitlist, doctor, slot) if e.patient_id not in passed_over]
    if slot.start <= NOW or not eligible:
        assert chosen is None
        return
    assert chosen is not None
    assert chosen in eligible
    assert (chosen.created_at, chosen.id) == min((e.created_at, e.id) for e in eligible)
    # The order the store lists them in changes nothing.
    assert (
        next_in_line(
            reversed(waitlist), doctor_id=doctor, slot=slot, now=NOW, passed_over=passed_over
        )
        is chosen
    )


@given(waitlists, slots, st.sampled_from(DOCTORS))
def test_passing_on_offers_every_matching_patient_once_in_line_order(
    waitlist: list[WaitlistEntry], slot: TimeSlot, doctor: UUID
) -> None:
    passed: set[UUID] = set()
    offered: list[WaitlistEntry] = []
    while (
        chosen := next_in_line(waitlist, doctor_id=doctor, slot=slot, now=NOW, passed_over=passed)
    ) is not None:
        assert chosen.patient_id not in passed
        passed.add(chosen.patient_id)
        offered.append(chosen)
    keys = [(e.created_at, e.id) for e in offered]
    assert keys == sorted(keys)
    expected = (
        {e.patient_id for e in _matching(waitlist, doctor, slot)} if slot.start > NOW else set()
    )
    assert passed == expected


@given(
    hold_minutes=st.integers(1, 10_000),
    starts_in_minutes=st.integers(1, 10_000),
)
def test_an_offer_is_held_for_the_hold_time_but_never_past_the_visit(
    hold_minutes: int, starts_in_minutes: int
) -> None:
    start = NOW + timedelta(minutes=starts_in_minutes)
    entry = WaitlistEntry.join(
        entry_id=_uid(1),
        patient_id=_uid(2),
        doctor_id=DOCTORS[0],
        window=TimeSlot(start - HOUR, start + HOUR),
        now=NOW,
    )
    offer = WaitlistOffer.make(
        offer_id=_uid(3),
        entry=entry,
        slot=TimeSlot(start, start + HOUR),
        now=NOW,
        hold=timedelta(minutes=hold_minutes),
    )
    assert offer.expires_at == min(NOW + timedelta(minutes=hold_minutes), start)
    assert offer.status is OfferStatus.OFFERED and offer.is_live


ANSWERS = ("accept", "decline", "expire", "booked", "lapse", "recover", "recover_booked")
#: How long an acceptance may take before the sweep settles it.
DEADLINE = timedelta(minutes=2)


@given(st.lists(st.tuples(st.sampled_from(ANSWERS), st.integers(0, 40)), max_size=8))
def test_an_offer_is_answered_once_and_only_live_offers_hold_the_slot(
    answers: list[tuple[str, int]],
) -> None:
    start = NOW + timedelta(hours=2)
    entry = WaitlistEntry.join(
        entry_id=_uid(1),
        patient_id=_uid(2),
        doctor_id=DOCTORS[0],
        window=TimeSlot(start - HOUR, start + HOUR),
        now=NOW,
    )
    offer = WaitlistOffer.make(
        offer_id=_uid(3),
        entry=entry,
        slot=TimeSlot(start, start + HOUR),
        now=NOW,
        hold=timedelta(minutes=20),
    )
    history = [offer.status]
    for answer, minutes in answers:
        at = NOW + timedelta(minutes=minutes)
        before = (offer.status, offer.version)
        try:
            match answer:
                case "accept":
                    offer.begin_accept(at, DEADLINE)
                case "decline":
                    offer.decline(at)
                case "expire":
                    offer.expire(at)
                case "booked":
                    offer.booked(_uid(9))
                case "recover":
                    offer.recover(at, None)
                case "recover_booked":
                    offer.recover(at, _uid(9))
                case _:
                    offer.lapse()
        except BusinessRuleViolation:
            assert (offer.status, offer.version) == before  # a refusal changes nothing
            continue
        assert offer.version == before[1] + 1
        if answer in ("accept", "decline"):
            assert at < offer.expires_at  # an expired offer is not answered
        if answer == "accept":
            assert offer.expires_at == at + DEADLINE  # the acceptance's own deadline
        if answer in ("expire", "recover", "recover_booked"):
            assert at >= offer.expires_at
        if answer == "recover":
            assert offer.status is OfferStatus.LAPSED
        if answer == "recover_booked":
            assert offer.status is OfferStatus.BOOKED and offer.appointment_id == _uid(9)
        history.append(offer.status)
    # offered -> (accepting -> booked|lapsed) | declined | expired, and nothing after.
    assert history in (
        [OfferStatus.OFFERED],
        [OfferStatus.OFFERED, OfferStatus.DECLINED],
        [OfferStatus.OFFERED, OfferStatus.EXPIRED],
        [OfferStatus.OFFERED, OfferStatus.ACCEPTING],
        [OfferStatus.OFFERED, OfferStatus.ACCEPTING, OfferStatus.BOOKED],
        [OfferStatus.OFFERED, OfferStatus.ACCEPTING, OfferStatus.LAPSED],
    )
    assert offer.is_live == (offer.status in LIVE_OFFER_STATUSES)
    assert (offer.appointment_id is not None) == (offer.status is OfferStatus.BOOKED)


def test_a_window_must_lie_ahead_and_span_at_most_92_days() -> None:
    def join(start: datetime, end: datetime) -> WaitlistEntry:
        return WaitlistEntry.join(
            entry_id=_uid(1),
            patient_id=_uid(2),
            doctor_id=DOCTORS[0],
            window=TimeSlot(start, end),
            now=NOW,
        )

    with pytest.raises(InvalidInput):
        join(NOW - 2 * HOUR, NOW - HOUR)
    with pytest.raises(InvalidInput):
        join(NOW, NOW + timedelta(days=93))
    entry = join(NOW, NOW + timedelta(days=92))
    entry.leave()
    assert entry.status is EntryStatus.LEFT
    with pytest.raises(BusinessRuleViolation):
        entry.leave()
