"""The guards of the state machine: time rules, working hours, conflicts, reasons."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hduce.domain import events
from hduce.domain.appointments import RESCHEDULED_REASON, Appointment, StatusChange
from hduce.domain.errors import (
    BusinessRuleViolation,
    DomainError,
    IllegalTransition,
    InvalidInput,
    SlotConflict,
)
from hduce.domain.identity import Role
from hduce.domain.scheduling import DoctorAvailability, Occupancy, TimeSlot
from tests.unit.domain.builders import (
    ALWAYS_OPEN,
    CAST,
    NOW,
    POLICY,
    SLOT,
    START,
    VISIT,
    Booked,
    S,
    appointment_in,
    book,
    snapshot,
    uid,
)

MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)


def slot_at(start: datetime, length: timedelta = VISIT) -> TimeSlot:
    return TimeSlot.of(start, length)


# ------------------------------------------------------------------ booking: time rules


def test_booking_in_the_past_is_an_illegal_transition() -> None:
    with pytest.raises(IllegalTransition) as refused:
        book(slot=slot_at(NOW - MINUTE))
    assert (refused.value.from_status, refused.value.to_status) == ("new", S.PENDING)
    assert refused.value.actor == str(CAST.patient)


def test_minimum_notice_edge() -> None:
    assert book(slot=slot_at(NOW + POLICY.minimum_notice)).status is S.PENDING
    with pytest.raises(BusinessRuleViolation) as refused:
        book(slot=slot_at(NOW + POLICY.minimum_notice - MINUTE))
    assert refused.value.code == "minimum-notice"


def test_booking_horizon_edge() -> None:
    assert book(slot=slot_at(NOW + POLICY.booking_horizon)).status is S.PENDING
    with pytest.raises(BusinessRuleViolation) as refused:
        book(slot=slot_at(NOW + POLICY.booking_horizon + MINUTE))
    assert refused.value.code == "booking-horizon"


def test_visit_longer_than_the_policy_allows_is_refused() -> None:
    book(slot=slot_at(START, POLICY.max_visit_length))
    with pytest.raises(BusinessRuleViolation) as refused:
        book(slot=slot_at(START, POLICY.max_visit_length + MINUTE))
    assert refused.value.code == "visit-too-long"


def test_doctor_cannot_book_with_themselves() -> None:
    with pytest.raises(BusinessRuleViolation) as refused:
        book(by="admin", patient_id=uid(11), doctor_id=uid(11))
    assert refused.value.code == "self-booking"


def test_booking_needs_an_aware_now() -> None:
    with pytest.raises(InvalidInput):
        book(now=NOW.replace(tzinfo=None))


# ------------------------------------------------------------------ booking: working hours


def madrid(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A UTC instant given as Madrid wall-clock time (winter: UTC+1)."""
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo("Europe/Madrid")).astimezone(UTC)


@pytest.mark.parametrize(
    ("local_start", "local_end"),
    [
        pytest.param((9, 0), (9, 30), id="first-slot-of-the-morning"),
        pytest.param((12, 30), (13, 0), id="ends-exactly-at-lunch"),
        pytest.param((15, 0), (19, 0), id="whole-afternoon"),
    ],
)
def test_inside_working_hours_is_bookable(
    madrid_office_hours: DoctorAvailability,
    local_start: tuple[int, int],
    local_end: tuple[int, int],
) -> None:
    slot = TimeSlot(madrid(2026, 1, 14, *local_start), madrid(2026, 1, 14, *local_end))
    assert book(slot=slot, availability=madrid_office_hours).status is S.PENDING


@pytest.mark.parametrize(
    ("day", "local_start", "local_end"),
    [
        pytest.param(14, (8, 30), (9, 30), id="starts-before-opening"),
        pytest.param(14, (12, 45), (13, 15), id="runs-into-lunch"),
        pytest.param(14, (12, 0), (16, 0), id="spans-lunch"),
        pytest.param(14, (18, 45), (19, 15), id="runs-past-closing"),
        pytest.param(17, (10, 0), (10, 30), id="saturday"),
        # 09:00 UTC is 10:00 in Madrid, but 08:00 UTC is 09:00: judged on the wall clock.
        pytest.param(14, (8, 0), (8, 30), id="utc-clock-would-say-yes"),
    ],
)
def test_outside_working_hours_is_refused(
    madrid_office_hours: DoctorAvailability,
    day: int,
    local_start: tuple[int, int],
    local_end: tuple[int, int],
) -> None:
    slot = TimeSlot(madrid(2026, 1, day, *local_start), madrid(2026, 1, day, *local_end))
    with pytest.raises(BusinessRuleViolation) as refused:
        book(slot=slot, availability=madrid_office_hours)
    assert refused.value.code == "outside-working-hours"


# ------------------------------------------------------------------ booking: conflicts


def test_conflict_lists_every_conflicting_appointment_on_both_sides() -> None:
    other_patient, other_doctor = uid(2), uid(12)
    patient, doctor = uid(1), uid(11)
    existing = [
        # doctor-side: same doctor, another patient, overlapping
        Booked(uid(101), doctor, other_patient, slot_at(START - timedelta(minutes=15))),
        # patient-side: same patient, another doctor, overlapping, pending still holds the slot
        Booked(uid(102), other_doctor, patient, slot_at(START + timedelta(minutes=10)), S.PENDING),
        # checked-in still occupies
        Booked(uid(103), doctor, other_patient, slot_at(START, MINUTE), S.CHECKED_IN),
        # not conflicts: touching before and after, released, unrelated people
        Booked(uid(201), doctor, other_patient, slot_at(START - VISIT)),
        Booked(uid(202), other_doctor, patient, slot_at(SLOT.end)),
        Booked(uid(203), doctor, other_patient, SLOT, S.CANCELLED),
        Booked(uid(204), other_doctor, patient, SLOT, S.COMPLETED),
        Booked(uid(205), other_doctor, other_patient, SLOT),
    ]

    with pytest.raises(SlotConflict) as conflict:
        book(existing=existing)

    assert conflict.value.conflicting_ids == (uid(101), uid(102), uid(103))
    assert all(str(i) in conflict.value.message for i in (uid(101), uid(102), uid(103)))


def test_touching_and_released_appointments_do_not_block_a_booking() -> None:
    existing = [
        Booked(uid(201), uid(11), uid(2), slot_at(START - VISIT)),
        Booked(uid(202), uid(12), uid(1), slot_at(SLOT.end)),
        Booked(uid(203), uid(11), uid(2), SLOT, S.REJECTED),
    ]
    assert book(existing=existing).status is S.PENDING


def test_approval_rechecks_overlaps_and_names_every_conflict() -> None:
    appointment = appointment_in(S.PENDING)
    before = snapshot(appointment)
    existing: list[Occupancy] = [
        appointment,  # the appointment itself never conflicts with itself
        Booked(uid(101), uid(11), uid(2), SLOT),
        Booked(uid(102), uid(12), uid(1), slot_at(START + timedelta(minutes=29))),
    ]
    with pytest.raises(SlotConflict) as conflict:
        appointment.approve(actor=CAST.doctor, now=NOW, existing=existing)
    assert set(conflict.value.conflicting_ids) == {uid(101), uid(102)}
    assert snapshot(appointment) == before

    appointment.approve(actor=CAST.doctor, now=NOW, existing=[appointment])
    assert appointment.status is S.APPROVED


def test_approval_after_the_start_is_refused() -> None:
    appointment = appointment_in(S.PENDING)
    before = snapshot(appointment)
    with pytest.raises(IllegalTransition):
        appointment.approve(actor=CAST.doctor, now=START, existing=[])
    assert snapshot(appointment) == before
    appointment.approve(actor=CAST.doctor, now=START - TICK, existing=[])
    assert appointment.status is S.APPROVED


# ------------------------------------------------------------------ reasons


def _reject(a: Appointment, reason: str | None) -> None:
    a.reject(actor=CAST.doctor, now=NOW, reason=reason)


def _cancel(a: Appointment, reason: str | None) -> None:
    a.cancel(actor=CAST.doctor, now=NOW, reason=reason, policy=POLICY)


def _void(a: Appointment, reason: str | None) -> None:
    a.enter_in_error(actor=CAST.admin, now=NOW, reason=reason)


@pytest.mark.parametrize("command", [_reject, _cancel, _void], ids=["reject", "cancel", "void"])
@pytest.mark.parametrize("reason", [None, "", "   \n\t"], ids=["none", "empty", "blank"])
def test_reason_is_required(
    command: Callable[[Appointment, str | None], None], reason: str | None
) -> None:
    appointment = appointment_in(S.PENDING)
    before = snapshot(appointment)
    with pytest.raises(InvalidInput) as refused:
        command(appointment, reason)
    assert refused.value.field == "reason"
    assert snapshot(appointment) == before


@pytest.mark.parametrize("command", [_reject, _cancel, _void], ids=["reject", "cancel", "void"])
def test_overlong_reason_is_refused(command: Callable[[Appointment, str | None], None]) -> None:
    appointment = appointment_in(S.PENDING)
    before = snapshot(appointment)
    with pytest.raises(InvalidInput):
        command(appointment, "x" * 2001)
    assert snapshot(appointment) == before
    command(appointment, "x" * 2000)
    assert appointment.history[-1].reason == "x" * 2000


@pytest.mark.parametrize("command", [_reject, _cancel, _void], ids=["reject", "cancel", "void"])
@pytest.mark.parametrize(
    "reason",
    ["Fully booked\r\nBcc: all@example.org", "away\x1b[2J", "paid \u202e01$", "x\ny"],
    ids=["crlf", "esc", "bidi-override", "lf"],
)
def test_reasons_quoted_in_messages_refuse_control_characters(
    command: Callable[[Appointment, str | None], None], reason: str
) -> None:
    """They end up in emails and SMS: one line, no controls, no bidi overrides."""
    appointment = appointment_in(S.PENDING)
    before = snapshot(appointment)
    with pytest.raises(InvalidInput) as refused:
        command(appointment, reason)
    assert refused.value.field == "reason"
    assert snapshot(appointment) == before


def test_the_booking_reason_and_notes_may_span_lines_but_hold_no_controls() -> None:
    assert book(reason="Knee pain.\r\nSince Monday.").reason == "Knee pain.\nSince Monday."
    for reason in ("Knee\x1b[31m pain", "Knee \u2067pain\u2069"):
        with pytest.raises(InvalidInput) as refused:
            book(reason=reason)
        assert refused.value.field == "reason"
    visit = appointment_in(S.CHECKED_IN)
    before = snapshot(visit)
    with pytest.raises(InvalidInput) as refused:
        visit.complete(actor=CAST.doctor, now=START, notes="Rest\u202e.sgnihT")
    assert refused.value.field == "notes"
    assert snapshot(visit) == before
    visit.complete(actor=CAST.doctor, now=START, notes=" Rest.\n\tFluids. ")
    assert visit.doctor_notes == "Rest.\n\tFluids."


# ------------------------------------------------------------------ cancellation


def test_patient_cancellation_cutoff_for_an_approved_visit() -> None:
    cutoff = START - POLICY.cancellation_cutoff
    late = appointment_in(S.APPROVED)
    before = snapshot(late)
    with pytest.raises(IllegalTransition) as refused:
        late.cancel(actor=CAST.patient, now=cutoff + TICK, reason="late", policy=POLICY)
    assert (refused.value.from_status, refused.value.to_status) == (S.APPROVED, S.CANCELLED)
    assert snapshot(late) == before

    on_time = appointment_in(S.APPROVED)
    on_time.cancel(actor=CAST.patient, now=cutoff, reason="on time", policy=POLICY)
    assert on_time.status is S.CANCELLED


@pytest.mark.parametrize("actor_name", ["doctor", "admin"])
def test_doctor_and_admin_may_cancel_an_approved_visit_inside_the_cutoff(actor_name: str) -> None:
    appointment = appointment_in(S.APPROVED)
    appointment.cancel(
        actor=CAST[actor_name], now=START - MINUTE, reason="emergency", policy=POLICY
    )
    assert appointment.status is S.CANCELLED


def test_patient_may_withdraw_a_pending_request_at_any_time() -> None:
    appointment = appointment_in(S.PENDING)
    appointment.cancel(
        actor=CAST.patient, now=START - MINUTE, reason="found another", policy=POLICY
    )
    assert appointment.status is S.CANCELLED


def test_system_cancels_a_pending_request_only_once_the_visit_has_started() -> None:
    early = appointment_in(S.PENDING)
    before = snapshot(early)
    with pytest.raises(IllegalTransition) as refused:
        early.cancel(actor=CAST.system, now=START - TICK, reason="expired", policy=POLICY)
    assert refused.value.actor == "system"
    assert snapshot(early) == before

    early.cancel(actor=CAST.system, now=START, reason="expired", policy=POLICY)
    assert early.status is S.CANCELLED
    assert early.cancelled_by is Role.SYSTEM
    assert early.cancelled_by_id is None


def test_system_never_cancels_an_approved_visit() -> None:
    appointment = appointment_in(S.APPROVED)
    before = snapshot(appointment)
    with pytest.raises(IllegalTransition):
        appointment.cancel(
            actor=CAST.system, now=START + timedelta(hours=2), reason="expired", policy=POLICY
        )
    assert snapshot(appointment) == before


# ------------------------------------------------------------------ check-in, completion, no-show


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        pytest.param(START - POLICY.check_in_opens_before - TICK, False, id="before-opening"),
        pytest.param(START - POLICY.check_in_opens_before, True, id="at-opening"),
        pytest.param(START, True, id="at-start"),
        pytest.param(START + POLICY.check_in_closes_after - TICK, True, id="just-before-closing"),
        pytest.param(START + POLICY.check_in_closes_after, False, id="at-closing"),
    ],
)
def test_check_in_window_edges(now: datetime, accepted: bool) -> None:
    appointment = appointment_in(S.APPROVED)
    before = snapshot(appointment)
    if accepted:
        appointment.check_in(actor=CAST.doctor, now=now, policy=POLICY)
        assert appointment.status is S.CHECKED_IN
    else:
        with pytest.raises(IllegalTransition) as refused:
            appointment.check_in(actor=CAST.doctor, now=now, policy=POLICY)
        assert refused.value.to_status == S.CHECKED_IN
        assert snapshot(appointment) == before


@pytest.mark.parametrize("status", [S.APPROVED, S.CHECKED_IN])
def test_completion_before_the_start_is_refused(status: S) -> None:
    appointment = appointment_in(status)
    before = snapshot(appointment)
    with pytest.raises(IllegalTransition) as refused:
        appointment.complete(actor=CAST.doctor, now=START - TICK, notes="early")
    assert (refused.value.from_status, refused.value.to_status) == (status, S.COMPLETED)
    assert snapshot(appointment) == before  # the notes were not kept either

    appointment.complete(actor=CAST.doctor, now=START)
    assert appointment.status is S.COMPLETED


@pytest.mark.parametrize("actor_name", ["doctor", "admin", "system"])
def test_no_show_only_after_start_plus_grace(actor_name: str) -> None:
    appointment = appointment_in(S.APPROVED)
    before = snapshot(appointment)
    edge = START + POLICY.no_show_grace
    with pytest.raises(IllegalTransition) as refused:
        appointment.mark_no_show(actor=CAST[actor_name], now=edge, policy=POLICY)
    assert refused.value.to_status == S.NO_SHOW
    assert snapshot(appointment) == before

    appointment.mark_no_show(actor=CAST[actor_name], now=edge + TICK, policy=POLICY)
    assert appointment.status is S.NO_SHOW


def test_a_checked_in_patient_is_never_a_no_show() -> None:
    appointment = appointment_in(S.CHECKED_IN)
    with pytest.raises(IllegalTransition):
        appointment.mark_no_show(actor=CAST.system, now=START + timedelta(hours=1), policy=POLICY)
    assert appointment.status is S.CHECKED_IN


# ------------------------------------------------------------------ naive clocks


NAIVE = (START + timedelta(minutes=20)).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("status", "command"),
    [
        (S.PENDING, lambda a: a.approve(actor=CAST.doctor, now=NAIVE, existing=[])),
        (S.PENDING, lambda a: a.reject(actor=CAST.doctor, now=NAIVE, reason="no")),
        (S.PENDING, lambda a: a.cancel(actor=CAST.doctor, now=NAIVE, reason="no", policy=POLICY)),
        (S.APPROVED, lambda a: a.check_in(actor=CAST.doctor, now=NAIVE, policy=POLICY)),
        (S.APPROVED, lambda a: a.complete(actor=CAST.doctor, now=NAIVE, notes="n")),
        (S.APPROVED, lambda a: a.mark_no_show(actor=CAST.doctor, now=NAIVE, policy=POLICY)),
        (S.APPROVED, lambda a: a.enter_in_error(actor=CAST.admin, now=NAIVE, reason="dup")),
    ],
    ids=["approve", "reject", "cancel", "check_in", "complete", "no_show", "enter_in_error"],
)
def test_a_naive_clock_is_refused_and_changes_nothing(
    status: S, command: Callable[[Appointment], None]
) -> None:
    appointment = appointment_in(status)
    before = snapshot(appointment)
    with pytest.raises(InvalidInput):
        command(appointment)
    assert snapshot(appointment) == before


# ------------------------------------------------------------------ reschedule

NEW_SLOT = slot_at(START + timedelta(days=1))


def reschedule(
    appointment: Appointment,
    actor_name: str,
    *,
    new_slot: TimeSlot = NEW_SLOT,
    now: datetime = NOW,
    existing: Sequence[Occupancy] = (),
    availability: DoctorAvailability | None = None,
) -> Appointment:
    return appointment.reschedule(
        actor=CAST[actor_name],
        new_slot=new_slot,
        now=now,
        policy=POLICY,
        availability=availability or ALWAYS_OPEN,
        existing=existing,
    )


@pytest.mark.parametrize(
    ("from_status", "actor_name", "new_status"),
    [
        (S.APPROVED, "patient", S.PENDING),
        (S.PENDING, "patient", S.PENDING),
        (S.PENDING, "doctor", S.APPROVED),
        (S.APPROVED, "doctor", S.APPROVED),
        (S.PENDING, "admin", S.PENDING),
        (S.APPROVED, "admin", S.APPROVED),
    ],
)
def test_reschedule_cancels_the_old_and_books_the_new(
    from_status: S, actor_name: str, new_status: S
) -> None:
    old = appointment_in(from_status)
    actor = CAST[actor_name]

    new = reschedule(old, actor_name)

    assert old.status is S.CANCELLED
    assert old.cancellation_reason == RESCHEDULED_REASON
    assert old.cancelled_by is actor.role
    assert old.history[-1] == StatusChange(
        from_status, S.CANCELLED, NOW, actor.role, actor.user_id, RESCHEDULED_REASON
    )
    [cancelled] = old.collect_events()
    assert cancelled.type == events.APPOINTMENT_CANCELLED
    assert cancelled.aggregate_version == old.version == len(old.history)
    assert isinstance(cancelled.payload, events.AppointmentCancelled)
    assert cancelled.payload.reason == RESCHEDULED_REASON
    assert cancelled.payload.rescheduled_to == new.id

    assert new.id != old.id
    assert new.replaces == old.id
    assert new.status is new_status
    assert new.slot == NEW_SLOT
    assert (new.patient_id, new.doctor_id, new.reason) == (
        old.patient_id,
        old.doctor_id,
        old.reason,
    )
    assert new.history == [StatusChange(None, new_status, NOW, actor.role, actor.user_id)]
    assert new.version == 1
    [rescheduled] = new.collect_events()
    assert rescheduled.type == events.APPOINTMENT_RESCHEDULED
    assert rescheduled.aggregate_id == new.id
    assert isinstance(rescheduled.payload, events.AppointmentRescheduled)
    assert rescheduled.payload.replaces == old.id
    assert rescheduled.payload.starts_at == NEW_SLOT.start
    assert rescheduled.payload.status is new_status


def test_reschedule_may_overlap_the_slot_it_replaces() -> None:
    old = appointment_in(S.APPROVED)
    new = reschedule(old, "doctor", new_slot=slot_at(START + timedelta(minutes=15)), existing=[old])
    assert new.replaces == old.id
    assert old.status is S.CANCELLED


def test_a_patient_rescheduling_inside_the_cutoff_changes_nothing() -> None:
    old = appointment_in(S.APPROVED)
    before = snapshot(old)
    with pytest.raises(IllegalTransition):
        reschedule(old, "patient", now=START - timedelta(hours=2))
    assert snapshot(old) == before


@pytest.mark.parametrize(
    ("new_slot", "existing", "error"),
    [
        pytest.param(slot_at(NOW - timedelta(hours=1)), [], IllegalTransition, id="past"),
        pytest.param(
            slot_at(NOW + timedelta(minutes=10)), [], BusinessRuleViolation, id="minimum-notice"
        ),
        pytest.param(
            NEW_SLOT,
            [
                Booked(uid(101), uid(11), uid(2), NEW_SLOT),
                Booked(uid(102), uid(12), uid(1), NEW_SLOT),
            ],
            SlotConflict,
            id="conflict",
        ),
        pytest.param(
            slot_at(datetime(2026, 1, 17, 10, tzinfo=UTC)), [], BusinessRuleViolation, id="saturday"
        ),
    ],
)
def test_a_refused_new_slot_leaves_the_old_appointment_untouched(
    madrid_office_hours: DoctorAvailability,
    new_slot: TimeSlot,
    existing: list[Booked],
    error: type[DomainError],
) -> None:
    old = appointment_in(S.APPROVED)
    before = snapshot(old)
    with pytest.raises(error) as refused:
        reschedule(
            old, "doctor", new_slot=new_slot, existing=existing, availability=madrid_office_hours
        )
    assert snapshot(old) == before
    if isinstance(refused.value, SlotConflict):
        assert refused.value.conflicting_ids == (uid(101), uid(102))


@pytest.mark.parametrize("actor_name", ["other_patient", "other_doctor", "system"])
def test_reschedule_by_a_stranger_is_refused(actor_name: str) -> None:
    old = appointment_in(S.APPROVED)
    before = snapshot(old)
    with pytest.raises(IllegalTransition) as refused:
        reschedule(old, actor_name)
    assert refused.value.actor == str(CAST[actor_name])
    assert (refused.value.from_status, refused.value.to_status) == (S.APPROVED, S.CANCELLED)
    assert snapshot(old) == before


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.REJECTED, S.CANCELLED, S.COMPLETED, S.NO_SHOW])
def test_only_pending_or_approved_visits_are_rescheduled(status: S) -> None:
    old = appointment_in(status)
    before = snapshot(old)
    with pytest.raises(IllegalTransition) as refused:
        reschedule(old, "admin")
    assert refused.value.from_status == status
    assert snapshot(old) == before
