"""What a slot conflict tells each caller (``hduce.domain.privacy``): the ids of the
conflicting appointments they are a party to, every id to staff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.domain.errors import Conflicting, SlotConflict
from hduce.domain.identity import Actor, Role
from hduce.domain.privacy import conflict_seen_by, is_party
from hduce.domain.scheduling import TimeSlot
from tests.unit.domain.builders import CAST, START, VISIT, Booked, book, uid

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
