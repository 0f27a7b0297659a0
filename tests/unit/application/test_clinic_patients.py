"""Patients' records: who may read them (the patient, an admin, their doctors), who
may change them (the patient, an admin), and what a change may contain."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from hduce.application.appointments.commands import TransitionCommand
from hduce.application.clinic import GetPatient, PatientChanges, UpdatePatient
from hduce.domain.errors import InvalidInput, NotFound, PermissionDenied
from hduce.domain.identity import PatientProfile, Sex
from hduce.domain.ids import uuid7
from tests.unit.application.support import NOW, TUESDAY, Clinic, local


@pytest.fixture
def get_patient(clinic: Clinic) -> GetPatient:
    return GetPatient(clinic.uow_factory)


@pytest.fixture
def update_patient(clinic: Clinic) -> UpdatePatient:
    return UpdatePatient(clinic.uow_factory, clinic.clock)


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize("who", ["patient", "admin"])
async def test_the_patient_and_an_admin_read_the_record(
    clinic: Clinic, get_patient: GetPatient, who: str
) -> None:
    record = await get_patient(clinic.actor(who), clinic.people.patient.id)
    assert record.user.email == "paula.patient@example.org"
    assert record.user.phone == "+34600111222"
    # Seeded without a stored profile: an empty one, not an error.
    assert record.profile == PatientProfile(user_id=clinic.people.patient.id)


async def test_a_doctor_reads_only_patients_who_booked_with_them(
    clinic: Clinic, get_patient: GetPatient
) -> None:
    await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))  # with "doctor"

    mine = await get_patient(clinic.actor("doctor"), clinic.people.patient.id)

    assert mine.id == clinic.people.patient.id
    with pytest.raises(PermissionDenied):
        await get_patient(clinic.actor("other_doctor"), clinic.people.patient.id)
    with pytest.raises(PermissionDenied):
        await get_patient(clinic.actor("doctor"), clinic.people.other_patient.id)


async def test_a_past_relationship_still_counts_but_a_record_made_in_error_does_not(
    clinic: Clinic, get_patient: GetPatient
) -> None:
    cancelled = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    await clinic.cancel(TransitionCommand(clinic.actor("patient"), cancelled.id, reason="busy"))
    mistake = await clinic.book("other_patient", starts_at=local(TUESDAY, "11:00"))
    await clinic.enter_in_error(
        TransitionCommand(clinic.actor("admin"), mistake.id, reason="wrong patient")
    )

    assert (await get_patient(clinic.actor("doctor"), clinic.people.patient.id)).id
    with pytest.raises(PermissionDenied):
        await get_patient(clinic.actor("doctor"), clinic.people.other_patient.id)


async def test_a_doctors_own_booking_opens_the_record_only_once_accepted(
    clinic: Clinic, get_patient: GetPatient
) -> None:
    """A doctor could book any patient on their own calendar: that alone must not hand
    them the record. The proposal opens it when the patient accepts it."""
    doctor, patient = clinic.actor("doctor"), clinic.people.patient.id
    proposal = await clinic.book("doctor", patient="patient", starts_at=local(TUESDAY, "10:00"))

    with pytest.raises(PermissionDenied):
        await get_patient(doctor, patient)

    await clinic.accept(TransitionCommand(clinic.actor("patient"), proposal.id))
    assert (await get_patient(doctor, patient)).id == patient


@pytest.mark.parametrize("answer", ["decline", "withdraw", "expire"])
async def test_a_proposal_that_was_not_accepted_opens_nothing(
    clinic: Clinic, get_patient: GetPatient, answer: str
) -> None:
    proposal = await clinic.book("doctor", patient="patient", starts_at=local(TUESDAY, "10:00"))
    if answer == "decline":
        await clinic.decline(TransitionCommand(clinic.actor("patient"), proposal.id))
    elif answer == "withdraw":
        await clinic.cancel(TransitionCommand(clinic.actor("doctor"), proposal.id, reason="x"))
    else:
        clinic.clock.set(local(TUESDAY, "10:01"))
        assert await clinic.expire_overdue() == 1

    with pytest.raises(PermissionDenied):
        await get_patient(clinic.actor("doctor"), clinic.people.patient.id)


@pytest.mark.parametrize("approve", [None, True])
async def test_an_admins_booking_opens_the_record_to_the_doctor(
    clinic: Clinic, get_patient: GetPatient, approve: bool | None
) -> None:
    await clinic.book(
        "admin", patient="patient", starts_at=local(TUESDAY, "10:00"), approve=approve
    )

    assert (await get_patient(clinic.actor("doctor"), clinic.people.patient.id)).id


async def test_other_patients_are_refused_whether_or_not_the_id_exists(
    clinic: Clinic, get_patient: GetPatient
) -> None:
    for target in (clinic.people.patient.id, uuid7()):
        with pytest.raises(PermissionDenied):
            await get_patient(clinic.actor("other_patient"), target)


async def test_ids_that_are_not_patients_are_not_found(
    clinic: Clinic, get_patient: GetPatient
) -> None:
    for target in (uuid7(), clinic.people.doctor.id):
        with pytest.raises(NotFound):
            await get_patient(clinic.actor("admin"), target)


# ------------------------------------------------------------------ changing


async def test_the_patient_updates_their_profile_and_null_clears_a_field(
    clinic: Clinic, get_patient: GetPatient, update_patient: UpdatePatient
) -> None:
    me = clinic.people.patient
    await update_patient(
        clinic.actor("patient"),
        me.id,
        PatientChanges(
            date_of_birth=date(1990, 5, 17),
            sex=Sex.FEMALE,
            emergency_contact_name="  Luis Torres ",
            emergency_contact_phone="+34 600 999 888",
        ),
    )
    cleared = await update_patient(
        clinic.actor("admin"), me.id, PatientChanges(emergency_contact_name=None)
    )

    stored = clinic.store.patients[me.id]
    assert stored == cleared.profile
    assert (stored.date_of_birth, stored.sex, stored.emergency_contact_phone) == (
        date(1990, 5, 17),
        Sex.FEMALE,
        "+34600999888",
    )
    assert stored.emergency_contact_name is None
    assert (await get_patient(clinic.actor("patient"), me.id)).profile == stored
    audit = [e for e in clinic.store.audit.values() if e.action == "patient.profile_updated"]
    assert [e.details for e in audit] == [
        {"fields": ["date_of_birth", "sex", "emergency_contact_name", "emergency_contact_phone"]},
        {"fields": ["emergency_contact_name"]},
    ]
    # Field names only: no medical data copied into the audit trail.
    assert "1990" not in repr([e.details for e in audit])


@pytest.mark.parametrize("who", ["doctor", "other_patient"])
async def test_doctors_and_others_may_not_change_a_record(
    clinic: Clinic, update_patient: UpdatePatient, who: str
) -> None:
    await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))  # the doctor's patient
    before = clinic.snapshot()
    with pytest.raises(PermissionDenied):
        await update_patient(
            clinic.actor(who), clinic.people.patient.id, PatientChanges(sex=Sex.MALE)
        )
    assert clinic.snapshot() == before
    assert clinic.people.patient.id not in clinic.store.patients


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (PatientChanges(date_of_birth=NOW.date() + timedelta(days=2)), "date_of_birth"),
        (PatientChanges(date_of_birth=date(1899, 12, 31)), "date_of_birth"),
        (PatientChanges(emergency_contact_phone="12345"), "emergency_contact_phone"),
        (PatientChanges(emergency_contact_name="n" * 201), "emergency_contact_name"),
    ],
)
async def test_invalid_changes_are_refused_by_field(
    clinic: Clinic, update_patient: UpdatePatient, changes: PatientChanges, field: str
) -> None:
    before = clinic.snapshot()
    with pytest.raises(InvalidInput) as refused:
        await update_patient(clinic.actor("patient"), clinic.people.patient.id, changes)
    assert refused.value.field == field
    assert clinic.snapshot() == before


async def test_born_today_is_judged_on_the_patients_own_calendar(
    clinic: Clinic, update_patient: UpdatePatient
) -> None:
    # At 22:30 UTC on the 7th it is already 07:30 on the 8th in Tokyo, but still 23:30
    # on the 7th in Madrid (where the other patient lives).
    tokyo = replace(clinic.people.patient, timezone="Asia/Tokyo")
    async with clinic.uow_factory() as uow:
        await uow.users.save(tokyo)
        await uow.commit()
    clinic.clock.set(NOW.replace(hour=22, minute=30))
    eighth = date(2030, 1, 8)

    record = await update_patient(
        clinic.actor("patient"), tokyo.id, PatientChanges(date_of_birth=eighth)
    )

    assert record.profile.date_of_birth == eighth
    with pytest.raises(InvalidInput):
        await update_patient(
            clinic.actor("other_patient"),
            clinic.people.other_patient.id,
            PatientChanges(date_of_birth=eighth),
        )
