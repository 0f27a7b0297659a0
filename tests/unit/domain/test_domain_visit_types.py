"""Visit types: buffered intervals never overlap among accepted bookings; horizon and
notice refuse; a booking keeps its own length and buffers (docs/decisions/0020)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hduce.domain.appointments import Appointment
from hduce.domain.errors import BusinessRuleViolation, InvalidInput, SlotConflict
from hduce.domain.visit_types import Buffers, VisitType
from tests.unit.domain.builders import ALWAYS_OPEN, CAST, NOW, POLICY, START, book, uid

DOCTOR = CAST.doctor.user_id
assert DOCTOR is not None
PATIENTS = [uid(100 + i) for i in range(6)]


def visit_type(**changes: object) -> VisitType:
    fields: dict[str, object] = {
        "id": uid(500),
        "doctor_id": DOCTOR,
        "name": "First visit",
        "duration": timedelta(minutes=40),
        "buffer_before": timedelta(minutes=10),
        "buffer_after": timedelta(minutes=5),
        "booking_horizon": timedelta(days=30),
        "minimum_notice": timedelta(hours=24),
    }
    fields.update(changes)
    return VisitType(**fields)  # type: ignore[arg-type]


def book_type(
    kind: VisitType, offset: timedelta, patient_index: int, existing: list
) -> Appointment:
    return Appointment.book(
        actor=CAST.admin,
        patient_id=PATIENTS[patient_index],
        doctor_id=DOCTOR,
        slot=kind.slot_at(START + offset),
        reason="",
        now=NOW,
        policy=kind.policy(POLICY),
        availability=ALWAYS_OPEN,
        existing=existing,
        visit_type_id=kind.id,
        buffers=kind.buffers,
    )


kinds = st.builds(
    visit_type,
    duration=st.integers(5, 90).map(lambda m: timedelta(minutes=m)),
    buffer_before=st.integers(0, 30).map(lambda m: timedelta(minutes=m)),
    buffer_after=st.integers(0, 30).map(lambda m: timedelta(minutes=m)),
    minimum_notice=st.just(timedelta(hours=1)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(kinds, st.integers(0, 600), st.integers(0, 5)), min_size=1, max_size=15))
def test_buffered_intervals_never_overlap_among_accepted_bookings(requests: list) -> None:
    accepted: list[Appointment] = []
    for kind, offset_minutes, patient in requests:
        try:
            accepted.append(
                book_type(kind, timedelta(minutes=offset_minutes), patient, list(accepted))
            )
        except SlotConflict:
            continue
    for i, first in enumerate(accepted):
        for second in accepted[i + 1 :]:
            assert not first.blocked.overlaps(second.blocked)
            if first.patient_id == second.patient_id:
                assert not first.slot.overlaps(second.slot)


@settings(max_examples=100, deadline=None)
@given(
    kinds,
    st.integers(0, 120),
    st.integers(0, 120),
)
def test_a_booking_is_refused_exactly_when_buffered_ranges_overlap(
    kind: VisitType, first_minutes: int, second_minutes: int
) -> None:
    first = book_type(kind, timedelta(minutes=first_minutes), 0, [])
    second_slot = kind.slot_at(START + timedelta(minutes=second_minutes))
    collides = kind.buffers.around(second_slot).overlaps(first.blocked)
    if collides:
        with pytest.raises(SlotConflict):
            book_type(kind, timedelta(minutes=second_minutes), 1, [first])
    else:
        book_type(kind, timedelta(minutes=second_minutes), 1, [first])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 60).map(lambda d: timedelta(days=d)),
    st.integers(0, 72 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(-10, 100 * 24 * 60).map(lambda m: timedelta(minutes=m)),
)
def test_horizon_and_notice_refuse_exactly_outside_the_window(
    horizon: timedelta, notice: timedelta, ahead: timedelta
) -> None:
    kind = visit_type(booking_horizon=horizon, minimum_notice=notice, buffer_before=timedelta(0))
    start = NOW + ahead
    try:
        Appointment.book(
            actor=CAST.admin,
            patient_id=PATIENTS[0],
            doctor_id=DOCTOR,
            slot=kind.slot_at(start),
            reason="",
            now=NOW,
            policy=kind.policy(POLICY),
            availability=ALWAYS_OPEN,
            existing=[],
            visit_type_id=kind.id,
            buffers=kind.buffers,
        )
    except BusinessRuleViolation as refused:
        assert ahead < notice or ahead > horizon
        if ahead >= timedelta(0):
            assert refused.code in {"minimum-notice", "booking-horizon"}
    else:
        assert notice <= ahead <= horizon


def test_the_refusals_say_what_the_rule_is() -> None:
    kind = visit_type(minimum_notice=timedelta(hours=24), booking_horizon=timedelta(days=30))
    with pytest.raises(BusinessRuleViolation, match="1440 minutes notice") as notice:
        book_type(kind, NOW + timedelta(hours=2) - START, 0, [])
    assert notice.value.code == "minimum-notice"
    with pytest.raises(BusinessRuleViolation, match="30 days ahead") as horizon:
        book_type(kind, timedelta(days=40), 0, [])
    assert horizon.value.code == "booking-horizon"


def test_a_booking_keeps_its_length_and_buffers_when_the_type_changes() -> None:
    kind = visit_type()
    booked = book_type(kind, timedelta(0), 0, [])
    changed = visit_type(duration=timedelta(minutes=90), buffer_after=timedelta(minutes=60))
    assert changed.id == booked.visit_type_id
    assert booked.slot.duration == timedelta(minutes=40)
    assert booked.buffers == Buffers(timedelta(minutes=10), timedelta(minutes=5))
    # A longer type now fits right after the old booking's buffer.
    after = book_type(changed, timedelta(minutes=40 + 5 + 10), 1, [booked])
    assert after.blocked.start == booked.blocked.end


def test_buffers_are_the_doctors_time_not_the_patients() -> None:
    kind = visit_type(buffer_before=timedelta(minutes=30), buffer_after=timedelta(minutes=30))
    first = book_type(kind, timedelta(0), 0, [])
    # The same patient with another doctor right after the visit: no conflict.
    other = book(
        by="admin",
        slot=kind.slot_at(START + kind.duration),
        patient_id=PATIENTS[0],
        doctor_id=CAST.other_doctor.user_id,
        existing=[first],
    )
    assert other.slot.start == first.slot.end


def test_free_slots_leave_room_for_the_buffers() -> None:
    kind = visit_type()
    booked = book_type(kind, timedelta(hours=1), 0, [])
    window = booked.blocked.__class__(START, START + timedelta(hours=4))
    slots = ALWAYS_OPEN.free_slots(
        window,
        length=kind.duration,
        busy=[booked.blocked],
        buffer_before=kind.buffer_before,
        buffer_after=kind.buffer_after,
    )
    assert slots
    for slot in slots:
        assert not kind.buffers.around(slot).overlaps(booked.blocked)
        assert slot.duration == kind.duration


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("duration_minutes", {"duration": timedelta(minutes=3)}),
        ("buffer_before_minutes", {"buffer_before": timedelta(hours=3)}),
        ("buffer_after_minutes", {"buffer_after": timedelta(seconds=30)}),
        ("booking_horizon_days", {"booking_horizon": timedelta(hours=5)}),
        ("minimum_notice_minutes", {"minimum_notice": timedelta(days=90)}),
        ("name", {"name": "  "}),
    ],
)
def test_visit_types_refuse_bad_values(field: str, changes: dict) -> None:
    with pytest.raises(InvalidInput) as refused:
        visit_type(**changes)
    assert refused.value.field == field
