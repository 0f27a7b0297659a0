"""``hduce.domain.privacy``: what a slot conflict tells each caller (the ids of the
conflicting appointments they are a party to, every id to staff), and when a doctor
and a patient are in a care relationship (the patient's or staff's consent, never a
doctor's booking alone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from hduce.domain.appointments import Appointment, StatusChange
from hduce.domain.errors import Conflicting, SlotConflict
from hduce.domain.identity import Actor, Role
from hduce.domain.privacy import conflict_seen_by, establishes_care, is_party
from hduce.domain.scheduling import TimeSlot
from tests.unit.domain.builders import (
    ALWAYS_OPEN,
    CAST,
    NOW,
    POLICY,
    START,
    VISIT,
    Booked,
    S,
    appointment_in,
    book,
    uid,
)

PATIENT, OTHER_PATIENT, DOCTOR, OTHER_DOCTOR = uid(1), uid(2), uid(11), uid(12)
#: The patient's own visit with another doctor, and another patient's with the doctor.
MINE = Conflicting(uid(101), patient_id=PATIENT, doctor_id=OTHER_DOCTOR)
THEIRS = Conflicting(uid(102), patient_id=OTHER_PATIENT, doctor_id=DOCTOR)
CONFLICT = SlotConflict([MINE, THEIRS])


@pytest.mark.parametrize(
    ("who", "told"),
    [
        ("patient", [MINE.id]),  # never another patient's visit
        ("other_patient", [THEIRS.id]),
        ("doctor", [THEIRS.id]),  # the ids on their own calendar
        ("other_doctor", [MINE.id]),
        ("admin", [MINE.id, THEIRS.id]),
        ("system", [MINE.id, THEIRS.id]),
    ],
)
def test_each_caller_is_told_only_the_ids_that_are_theirs(who: str, told: list[object]) -> None:
    seen = conflict_seen_by(CAST[who], CONFLICT)

    assert list(seen.conflicting_ids) == sorted(told, key=str)
    for hidden in set(CONFLICT.conflicting_ids) - set(told):
        assert str(hidden) not in seen.message


def test_a_slot_taken_by_others_only_names_nobody() -> None:
    stranger = Actor(Role.PATIENT, uid(3))

    seen = conflict_seen_by(stranger, CONFLICT)

    assert seen.conflicting_ids == ()
    assert seen.message == "the requested time overlaps another appointment"
    assert isinstance(seen, SlotConflict) and seen.code == "slot-conflict"


def test_an_id_whose_parties_are_unknown_is_told_to_staff_only() -> None:
    bare = SlotConflict([uid(103)])

    assert conflict_seen_by(CAST.patient, bare).conflicting_ids == ()
    assert conflict_seen_by(CAST.admin, bare).conflicting_ids == (uid(103),)


def test_the_domain_remembers_whose_each_conflicting_appointment_is() -> None:
    theirs = Booked(
        uid(101), DOCTOR, OTHER_PATIENT, TimeSlot.of(START - timedelta(minutes=15), VISIT)
    )

    with pytest.raises(SlotConflict) as conflict:
        book(existing=[theirs])

    assert conflict.value.conflicts == (Conflicting(uid(101), OTHER_PATIENT, DOCTOR),)
    assert conflict_seen_by(CAST.patient, conflict.value).conflicting_ids == ()
    assert conflict_seen_by(CAST.doctor, conflict.value).conflicting_ids == (uid(101),)


def test_who_is_a_party() -> None:
    parties = {"patient_id": PATIENT, "doctor_id": DOCTOR}
    assert is_party(CAST.patient, **parties) and is_party(CAST.doctor, **parties)
    assert is_party(CAST.admin, **parties) and is_party(CAST.system, **parties)
    assert not is_party(CAST.other_patient, **parties)
    assert not is_party(CAST.other_doctor, **parties)


# ------------------------------------------------------------------ the care relationship


def _cares(appointment: Appointment) -> bool:
    return establishes_care(appointment.status, appointment.history)


def _proposal(then: str | None = None) -> Appointment:
    appointment = book(by="doctor")
    if then == "accepted by the patient":
        appointment.accept(actor=CAST.patient, now=NOW)
    elif then == "accepted by an admin":
        appointment.accept(actor=CAST.admin, now=NOW)
    elif then == "declined":
        appointment.decline(actor=CAST.patient, now=NOW)
    elif then == "withdrawn":
        appointment.cancel(actor=CAST.doctor, now=NOW, reason="on leave", policy=POLICY)
    elif then == "expired":
        appointment.cancel(actor=CAST.system, now=START, reason="unanswered", policy=POLICY)
    elif then == "voided":
        appointment.enter_in_error(actor=CAST.admin, now=NOW, reason="wrong patient")
    return appointment


@pytest.mark.parametrize(
    ("make", "cares"),
    [
        # The patient's own booking, whatever became of it (a past visit still counts).
        pytest.param(lambda: appointment_in(S.PENDING), True, id="requested"),
        pytest.param(lambda: appointment_in(S.REJECTED), True, id="requested-then-rejected"),
        pytest.param(lambda: appointment_in(S.COMPLETED), True, id="requested-then-completed"),
        # Staff's action.
        pytest.param(lambda: book(by="admin"), True, id="booked-by-an-admin"),
        pytest.param(lambda: book(by="admin", approve=True), True, id="approved-by-an-admin"),
        # A doctor's proposal opens nothing until the patient (or an admin) accepts it.
        pytest.param(_proposal, False, id="proposed"),
        pytest.param(lambda: _proposal("accepted by the patient"), True, id="accepted"),
        pytest.param(lambda: _proposal("accepted by an admin"), True, id="accepted-by-admin"),
        pytest.param(lambda: _proposal("declined"), False, id="declined"),
        pytest.param(lambda: _proposal("withdrawn"), False, id="withdrawn"),
        pytest.param(lambda: _proposal("expired"), False, id="expired"),
        # A record made by mistake is no care relationship.
        pytest.param(lambda: appointment_in(S.ENTERED_IN_ERROR), False, id="voided-request"),
        pytest.param(lambda: _proposal("voided"), False, id="voided-proposal"),
    ],
)
def test_care_starts_with_the_patients_or_staffs_consent(
    make: Callable[[], Appointment], cares: bool
) -> None:
    assert _cares(make()) is cares


def test_a_doctors_booking_alone_never_establishes_care() -> None:
    """Not as a proposal, not as a replacement the doctor booked when moving a visit,
    nor as an approved booking the doctor made before proposals existed."""
    request = appointment_in(S.PENDING)
    moved = request.reschedule(
        actor=CAST.doctor,
        new_slot=TimeSlot.of(START + timedelta(hours=2), VISIT),
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=(),
    )
    legacy = [StatusChange(None, S.APPROVED, NOW, Role.DOCTOR, CAST.doctor.user_id)]

    assert moved.status is S.APPROVED and not _cares(moved)
    assert _cares(request)  # the request the patient made still does
    assert not establishes_care(S.APPROVED, legacy)
    assert not establishes_care(S.COMPLETED, [*legacy, *moved.history[1:]])
