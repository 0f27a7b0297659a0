"""``find_conflicts`` against a brute-force pairwise check (docs/architecture.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hduce.domain.scheduling import TimeSlot, find_conflicts
from tests.unit.domain.builders import Booked, S, uid

BASE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DOCTORS = [uid(10 + i) for i in range(3)]
PATIENTS = [uid(20 + i) for i in range(3)]


def minutes(start: int, end: int) -> TimeSlot:
    return TimeSlot(BASE + timedelta(minutes=start), BASE + timedelta(minutes=end))


# Start and end in minutes over a short day, so that overlaps and touching are common.
intervals = st.tuples(st.integers(0, 180), st.integers(1, 60)).map(
    lambda start_len: (start_len[0], start_len[0] + start_len[1])
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[int, tuple], tuple, set[int]]:
    count = draw(st.integers(0, 25))
    # appointment number -> (doctor, patient, status, (start, end))
    booked = {
        n: (
            draw(st.sampled_from(DOCTORS)),
            draw(st.sampled_from(PATIENTS)),
            draw(st.sampled_from(list(S))),
            draw(intervals),
        )
        for n in range(count)
    }
    query = (draw(st.sampled_from(DOCTORS)), draw(st.sampled_from(PATIENTS)), draw(intervals))
    ignored = draw(st.sets(st.integers(0, max(count - 1, 0)), max_size=3))
    return booked, query, ignored


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios(), duplicate=st.booleans())
def test_find_conflicts_agrees_with_a_pairwise_check(
    scenario: tuple[dict[int, tuple], tuple, set[int]], duplicate: bool
) -> None:
    booked, (doctor, patient, (q_start, q_end)), ignored = scenario
    existing = [
        Booked(uid(1000 + n), d, p, minutes(start, end), status)
        for n, (d, p, status, (start, end)) in booked.items()
    ]
    if duplicate:  # the same appointment fetched twice (doctor side and patient side)
        existing += existing

    found = find_conflicts(
        minutes(q_start, q_end),
        doctor_id=doctor,
        patient_id=patient,
        existing=existing,
        ignore=[uid(1000 + n) for n in ignored],
    )

    # Brute force on plain integers: half-open [start, end) intervals overlap when each
    # starts before the other ends.
    expected = {
        uid(1000 + n)
        for n, (d, p, status, (start, end)) in booked.items()
        if n not in ignored
        and status in {S.PENDING, S.PROPOSED, S.APPROVED, S.CHECKED_IN}
        and (d == doctor or p == patient)
        and start < q_end
        and q_start < end
    }
    found_ids = [a.id for a in found]
    assert set(found_ids) == expected
    assert len(found_ids) == len(set(found_ids)), "duplicates in the result"
    assert [(a.slot.start, str(a.id)) for a in found] == sorted(
        (a.slot.start, str(a.id)) for a in found
    )
    for a in found:  # touching intervals never conflict
        assert a.slot.end != minutes(q_start, q_end).start
        assert a.slot.start != minutes(q_start, q_end).end


def test_touching_slots_do_not_overlap() -> None:
    morning, next_one = minutes(0, 30), minutes(30, 60)
    assert not morning.overlaps(next_one)
    assert not next_one.overlaps(morning)
    assert morning.overlaps(minutes(29, 31))
    assert minutes(0, 60).overlaps(minutes(10, 20))  # containment is an overlap


def test_conflicts_on_both_sides_are_all_reported() -> None:
    slot = minutes(60, 90)
    doctor, patient = DOCTORS[0], PATIENTS[0]
    doctor_side = Booked(uid(1), doctor, PATIENTS[1], minutes(45, 75))
    patient_side = Booked(uid(2), DOCTORS[1], patient, minutes(80, 120))
    both = Booked(uid(3), doctor, patient, minutes(60, 90))
    touching = Booked(uid(4), doctor, patient, minutes(90, 100))
    released = Booked(uid(5), doctor, patient, slot, S.CANCELLED)
    stranger = Booked(uid(6), DOCTORS[2], PATIENTS[2], slot)

    found = find_conflicts(
        slot,
        doctor_id=doctor,
        patient_id=patient,
        existing=[doctor_side, patient_side, both, touching, released, stranger],
    )

    assert found == [doctor_side, both, patient_side]  # sorted by start
    assert find_conflicts(
        slot,
        doctor_id=doctor,
        patient_id=patient,
        existing=[doctor_side, patient_side, both],
        ignore=[uid(3)],
    ) == [doctor_side, patient_side]
