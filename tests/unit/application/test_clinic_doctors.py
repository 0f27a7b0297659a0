"""Doctors: creation of account + profile in one transaction, the catalogue, and
edits (who may change what, optimistic versions)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from hduce.application.clinic import (
    CreateDoctor,
    DoctorChanges,
    GetDoctor,
    ListDoctors,
    NewDoctor,
    UpdateDoctor,
)
from hduce.application.identity.accounts import CreateAccount
from hduce.application.identity.policy import IdentityPolicy
from hduce.application.ports import DoctorQuery, PageRequest
from hduce.domain.clinic import Specialty
from hduce.domain.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    StaleVersion,
)
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7
from tests.fakes import FakePasswordHasher
from tests.unit.application.support import Clinic

PASSWORD = "correct horse battery staple"


@dataclass
class Doctors:
    create: CreateDoctor
    get: GetDoctor
    list: ListDoctors
    update: UpdateDoctor
    specialty: Specialty


@pytest.fixture
def doctors(clinic: Clinic) -> Doctors:
    policy = IdentityPolicy(default_timezone="Europe/Lisbon")
    accounts = CreateAccount(clinic.uow_factory, clinic.clock, FakePasswordHasher(), policy)
    return Doctors(
        create=CreateDoctor(clinic.uow_factory, clinic.clock, accounts),
        get=GetDoctor(clinic.uow_factory),
        list=ListDoctors(clinic.uow_factory),
        update=UpdateDoctor(clinic.uow_factory, clinic.clock),
        specialty=next(iter(clinic.store.specialties.values())),
    )


def new_doctor(doctors: Doctors, **fields: Any) -> NewDoctor:
    values: dict[str, Any] = {
        "email": "Nora.Neuro@Example.org",
        "full_name": "Nora Neuro",
        "licence_number": "MAD-0100",
        "specialty_id": doctors.specialty.id,
        "consultation_fee": Decimal("60"),
        "visit_minutes": 20,
        "timezone": "America/New_York",
        "password": PASSWORD,
    }
    values.update(fields)
    return NewDoctor(**values)


# ------------------------------------------------------------------ creation


async def test_admin_creates_account_and_profile_together(clinic: Clinic, doctors: Doctors) -> None:
    profile = await doctors.create(clinic.actor("admin"), new_doctor(doctors))

    user = clinic.store.users[profile.id]
    doctor = clinic.store.doctors[profile.id]
    assert (user.role, user.email, user.timezone) == (
        Role.DOCTOR,
        "nora.neuro@example.org",
        "America/New_York",
    )
    assert user.password_hash is not None and PASSWORD not in user.password_hash
    assert (doctor.licence_number, doctor.timezone, doctor.visit_minutes) == (
        "MAD-0100",
        "America/New_York",
        20,
    )
    assert doctor.consultation_fee == Decimal("60.00")
    assert str(profile.doctor.consultation_fee) == "60.00"  # kept in cents
    assert profile.specialty == doctors.specialty
    audit = [e.action for e in clinic.store.audit.values() if e.target_id == str(profile.id)]
    assert audit == ["user.created", "doctor.created"]
    registered = clinic.events("user.registered")
    assert [e.aggregate_id for e in registered] == [profile.id]
    assert clinic.store.patients.get(profile.id) is None  # doctors get no patient profile


async def test_without_a_password_the_account_has_none_and_the_clinic_timezone(
    clinic: Clinic, doctors: Doctors
) -> None:
    profile = await doctors.create(
        clinic.actor("admin"), new_doctor(doctors, password=None, timezone=None)
    )
    assert profile.user.password_hash is None
    assert profile.user.timezone == profile.doctor.timezone == "Europe/Lisbon"


async def test_a_taken_licence_number_leaves_no_account_behind(
    clinic: Clinic, doctors: Doctors
) -> None:
    before = clinic.snapshot()
    users_before = set(clinic.store.users)

    with pytest.raises(AlreadyExists, match="licence"):
        await doctors.create(clinic.actor("admin"), new_doctor(doctors, licence_number="MAD-0001"))

    assert set(clinic.store.users) == users_before
    assert clinic.snapshot() == before  # no audit line, no user.registered event


async def test_a_taken_email_leaves_no_profile_behind(clinic: Clinic, doctors: Doctors) -> None:
    doctors_before = set(clinic.store.doctors)
    with pytest.raises(AlreadyExists, match="email"):
        await doctors.create(
            clinic.actor("admin"), new_doctor(doctors, email="PAULA.patient@example.org")
        )
    assert set(clinic.store.doctors) == doctors_before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"specialty_id": uuid7()}, "specialty_id"),
        ({"consultation_fee": Decimal("-1")}, "consultation_fee"),
        ({"consultation_fee": Decimal("12.345")}, "consultation_fee"),
        ({"consultation_fee": Decimal("NaN")}, "consultation_fee"),
        ({"consultation_fee": Decimal("1000000")}, "consultation_fee"),
        ({"visit_minutes": 4}, "visit_minutes"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"licence_number": "  "}, "licence_number"),
        ({"licence_number": "L" * 65}, "licence_number"),
        ({"bio": "b" * 4001}, "bio"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "555"}, "phone"),
        ({"password": "short"}, "password"),
    ],
)
async def test_invalid_input_is_refused_by_field_and_writes_nothing(
    clinic: Clinic, doctors: Doctors, fields: dict[str, Any], field: str
) -> None:
    before = clinic.snapshot()
    users_before = set(clinic.store.users)

    with pytest.raises(InvalidInput) as refused:
        await doctors.create(clinic.actor("admin"), new_doctor(doctors, **fields))

    assert refused.value.field == field
    assert clinic.snapshot() == before
    assert set(clinic.store.users) == users_before


@pytest.mark.parametrize("who", ["doctor", "patient"])
async def test_only_an_admin_creates_doctors(clinic: Clinic, doctors: Doctors, who: str) -> None:
    with pytest.raises(PermissionDenied):
        await doctors.create(clinic.actor(who), new_doctor(doctors))
    assert len(clinic.store.doctors) == 2


# ------------------------------------------------------------------ catalogue


async def test_the_catalogue_filters_by_specialty_and_name_and_pages(
    clinic: Clinic, doctors: Doctors
) -> None:
    neuro = Specialty(id=uuid7(), name="Neurology")
    async with clinic.uow_factory() as uow:
        await uow.specialties.add(neuro)
        await uow.commit()
    nora = await doctors.create(clinic.actor("admin"), new_doctor(doctors, specialty_id=neuro.id))

    everyone = await doctors.list(DoctorQuery())
    by_specialty = await doctors.list(DoctorQuery(specialty_id=neuro.id))
    by_name = await doctors.list(DoctorQuery(name="DOC"))
    second = await doctors.list(DoctorQuery(page=PageRequest(limit=1, offset=1)))

    # Sorted by name: Diego Doctor, Dora Doctor, Nora Neuro.
    assert [p.user.full_name for p in everyone.items] == [
        "Diego Doctor",
        "Dora Doctor",
        "Nora Neuro",
    ]
    assert [p.id for p in by_specialty.items] == [nora.id]
    assert by_specialty.items[0].specialty == neuro
    assert {p.id for p in by_name.items} == {clinic.people.doctor.id, clinic.people.other_doctor.id}
    assert ([p.user.full_name for p in second.items], second.total) == (["Dora Doctor"], 3)


async def test_get_doctor_answers_the_profile_or_not_found(
    clinic: Clinic, doctors: Doctors
) -> None:
    profile = await doctors.get(clinic.people.doctor.id)
    assert (profile.user.full_name, profile.doctor.licence_number) == ("Dora Doctor", "MAD-0001")
    with pytest.raises(NotFound):
        await doctors.get(clinic.people.patient.id)


# ------------------------------------------------------------------ edits


async def test_the_doctor_edits_their_own_profile_and_the_version_moves(
    clinic: Clinic, doctors: Doctors
) -> None:
    me = clinic.people.doctor
    changed = await doctors.update(
        clinic.actor("doctor"),
        me.id,
        DoctorChanges(bio=" Family doctor ", visit_minutes=45, consultation_fee=Decimal("55.5")),
        expected_version=1,
    )

    stored = clinic.store.doctors[me.id]
    assert (stored.bio, stored.visit_minutes, stored.consultation_fee) == (
        "Family doctor",
        45,
        Decimal("55.50"),
    )
    assert stored.version == changed.doctor.version == 2
    audit = [e for e in clinic.store.audit.values() if e.action == "doctor.updated"]
    assert [e.details for e in audit] == [
        {"fields": ["consultation_fee", "visit_minutes", "bio"], "version": 2}
    ]


@pytest.mark.parametrize(
    "changes",
    [DoctorChanges(licence_number="MAD-9999"), DoctorChanges(specialty_id=uuid7())],
    ids=["licence", "specialty"],
)
async def test_licence_and_specialty_are_the_admins_to_change(
    clinic: Clinic, doctors: Doctors, changes: DoctorChanges
) -> None:
    before = clinic.snapshot()
    with pytest.raises(PermissionDenied, match="only an admin"):
        await doctors.update(clinic.actor("doctor"), clinic.people.doctor.id, changes)
    assert clinic.snapshot() == before


async def test_admin_changes_licence_and_specialty(clinic: Clinic, doctors: Doctors) -> None:
    neuro = Specialty(id=uuid7(), name="Neurology")
    async with clinic.uow_factory() as uow:
        await uow.specialties.add(neuro)
        await uow.commit()
    profile = await doctors.update(
        clinic.actor("admin"),
        clinic.people.doctor.id,
        DoctorChanges(licence_number="MAD-0777", specialty_id=neuro.id),
    )
    assert (profile.doctor.licence_number, profile.specialty) == ("MAD-0777", neuro)


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        (DoctorChanges(licence_number="MAD-0002"), AlreadyExists, None),
        (DoctorChanges(specialty_id=uuid7()), InvalidInput, "specialty_id"),
        (DoctorChanges(timezone="Nowhere/Land"), InvalidInput, "timezone"),
        (DoctorChanges(visit_minutes=481), InvalidInput, "visit_minutes"),
    ],
)
async def test_refused_edits_change_nothing(
    clinic: Clinic,
    doctors: Doctors,
    changes: DoctorChanges,
    error: type[Exception],
    field: str | None,
) -> None:
    before = dict(clinic.store.doctors)
    with pytest.raises(error) as refused:
        await doctors.update(clinic.actor("admin"), clinic.people.doctor.id, changes)
    assert getattr(refused.value, "field", None) == field
    assert clinic.store.doctors == before


async def test_an_edit_based_on_an_old_version_is_stale(clinic: Clinic, doctors: Doctors) -> None:
    me = clinic.people.doctor
    await doctors.update(
        clinic.actor("admin"), me.id, DoctorChanges(bio="first"), expected_version=1
    )

    with pytest.raises(StaleVersion) as stale:
        await doctors.update(
            clinic.actor("doctor"), me.id, DoctorChanges(bio="second"), expected_version=1
        )

    assert (stale.value.expected, stale.value.actual) == (1, 2)
    assert not isinstance(stale.value, PreconditionFailed)  # a field of the edit: 409
    assert clinic.store.doctors[me.id].bio == "first"


async def test_a_stale_precondition_is_a_failed_precondition(
    clinic: Clinic, doctors: Doctors
) -> None:
    me = clinic.people.doctor
    await doctors.update(clinic.actor("admin"), me.id, DoctorChanges(bio="first"))

    with pytest.raises(PreconditionFailed) as stale:  # If-Match: 412
        await doctors.update(
            clinic.actor("doctor"),
            me.id,
            DoctorChanges(bio="second"),
            expected_version=1,
            conditional=True,
        )

    assert (stale.value.expected, stale.value.actual, stale.value.code) == (1, 2, "stale-version")
    assert clinic.store.doctors[me.id].bio == "first"


async def test_another_doctor_may_not_edit_and_unknown_doctors_are_not_found(
    clinic: Clinic, doctors: Doctors
) -> None:
    with pytest.raises(PermissionDenied):
        await doctors.update(
            clinic.actor("other_doctor"), clinic.people.doctor.id, DoctorChanges(bio="mine")
        )
    with pytest.raises(NotFound):
        await doctors.update(clinic.actor("admin"), uuid7(), DoctorChanges(bio="ghost"))


async def test_an_empty_edit_keeps_the_version(clinic: Clinic, doctors: Doctors) -> None:
    before = clinic.snapshot()
    profile = await doctors.update(
        clinic.actor("doctor"), clinic.people.doctor.id, DoctorChanges(), expected_version=1
    )
    assert profile.doctor.version == 1
    assert clinic.snapshot() == before
