"""The waitlist's rules, as properties over random waitlists, slots and answers.

- who is offered a freed slot: a waiting entry of that doctor whose window wholly holds
  the slot, of a patient not passed over, the earliest-joined (ties by id); nobody for a
  slot that has started;
- the choice is a pure function of the set of entries (their order does not matter);
- passing over the chosen one gives the next in line, until nobody is left, and every
  matching patient is offered exactly once;
- an offer is held until ``now + hold`` but never past the visit's start, is answered
  once, and only a live offer (offered, being accepted) holds its slot; an acceptance
  has a deadline, past which (only) it is recovered as booked or lapsed;
- someone waiting for a visit type is offered a visit of that type at the freed start
  exactly when it fits, buffers included, in the freed time; the first such one in
  line is chosen.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.errors import BusinessRuleViolation, InvalidInput
from hduce.domain.scheduling import TimeSlot
from hduce.domain.visit_types import VisitType
from hduce.domain.waitlist import (
    LIVE_OFFER_STATUSES,
    EntryStatus,
    FreedTime,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
    next_in_line,
    offered_visit,
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


# ------------------------------------------------------------------ visit types


@st.composite
def visit_types(draw: st.DrawFn, doctor_id: UUID = DOCTORS[0]) -> VisitType:
    minutes = st.integers(0, 30).map(lambda n: timedelta(minutes=n))
    return VisitType(
        id=_uid(draw(st.integers(20_000, 20_005))),
        doctor_id=doctor_id,
        name="Kind",
        duration=timedelta(minutes=5 * draw(st.integers(1, 24))),
        buffer_before=draw(minutes),
        buffer_after=draw(minutes),
    )


@st.composite
def freed_times(draw: st.DrawFn) -> FreedTime:
    start = NOW + HOUR * draw(st.integers(1, 24))
    visit = TimeSlot(start, start + timedelta(minutes=5 * draw(st.integers(1, 24))))
    before = timedelta(minutes=draw(st.integers(0, 30)))
    after = timedelta(minutes=draw(st.integers(0, 30)))
    return FreedTime.of(visit, TimeSlot(visit.start - before, visit.end + after))


def _waiting_for(kind: VisitType | None, created: int = 0) -> WaitlistEntry:
    return WaitlistEntry(
        id=_uid(30_000 + created),
        patient_id=_uid(40_000 + created),
        doctor_id=DOCTORS[0],
        window=TimeSlot(NOW, NOW + timedelta(days=3)),
        created_at=NOW - timedelta(minutes=60 - created),
        visit_type_id=kind.id if kind is not None else None,
    )


@given(freed_times(), visit_types())
def test_a_visit_type_is_offered_only_a_visit_of_its_own_that_fits_the_freed_time(
    freed: FreedTime, kind: VisitType
) -> None:
    entry = _waiting_for(kind)
    visit = offered_visit(entry, freed, {kind.id: kind})
    blocked = kind.buffers.around(kind.slot_at(freed.visit.start))
    fits = freed.blocked.start <= blocked.start and blocked.end <= freed.blocked.end
    assert (visit is not None) == fits
    if visit is not None:
        # Its own length at the freed start: what accepting books.
        assert (visit.start, visit.end - visit.start) == (freed.visit.start, kind.duration)
    # The type gone (deleted), or another doctor's: nothing to offer.
    assert offered_visit(entry, freed, {}) is None
    foreign = replace(kind, doctor_id=DOCTORS[1])
    assert offered_visit(entry, freed, {kind.id: foreign}) is None
    # Without a type: the freed visit as it was.
    assert offered_visit(_waiting_for(None), freed, {kind.id: kind}) == freed.visit


@given(freed_times(), st.lists(st.one_of(st.none(), visit_types()), min_size=1, max_size=6))
def test_the_first_in_line_whose_visit_fits_is_chosen(
    freed: FreedTime, wanted: list[VisitType | None]
) -> None:
    kinds = {kind.id: kind for kind in wanted if kind is not None}
    # Same id, same type: the last drawn wins, as the doctor's list would have one.
    line = [
        _waiting_for(kinds.get(kind.id) if kind is not None else None, n)
        for n, kind in enumerate(wanted)
    ]
    chosen = next_in_line(line, doctor_id=DOCTORS[0], slot=freed, now=NOW, kinds=kinds)
    fitting = [entry for entry in line if offered_visit(entry, freed, kinds) is not None]
    assert chosen is (fitting[0] if fitting else None)
