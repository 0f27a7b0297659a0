"""Specialties: public list, admin-only creation and edits, unique names ignoring case."""

from __future__ import annotations

import pytest

from hduce.application.clinic import (
    CreateSpecialty,
    ListSpecialties,
    SpecialtyChanges,
    UpdateSpecialty,
)
from hduce.domain.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from hduce.domain.ids import uuid7
from tests.unit.application.support import Clinic


@pytest.fixture
def create(clinic: Clinic) -> CreateSpecialty:
    return CreateSpecialty(clinic.uow_factory, clinic.clock)


@pytest.fixture
def update(clinic: Clinic) -> UpdateSpecialty:
    return UpdateSpecialty(clinic.uow_factory, clinic.clock)


async def test_admin_adds_a_specialty_listed_by_name_with_an_audit_line(
    clinic: Clinic, create: CreateSpecialty
) -> None:
    cardiology = await create(clinic.actor("admin"), "  Cardiology ", "Hearts")
    listed = await ListSpecialties(clinic.uow_factory)()

    assert cardiology.name == "Cardiology"  # trimmed
    assert [s.name for s in listed] == ["Cardiology", "Family medicine"]
    assert clinic.store.specialties[cardiology.id].description == "Hearts"
    audit = [e for e in clinic.store.audit.values() if e.target_id == str(cardiology.id)]
    assert [(e.action, e.actor_id) for e in audit] == [
        ("specialty.created", clinic.people.admin.id)
    ]


@pytest.mark.parametrize("who", ["doctor", "patient"])
async def test_only_an_admin_adds_specialties(
    clinic: Clinic, create: CreateSpecialty, who: str
) -> None:
    before = clinic.snapshot()
    with pytest.raises(PermissionDenied):
        await create(clinic.actor(who), "Dermatology")
    assert clinic.snapshot() == before
    assert len(clinic.store.specialties) == 1


async def test_names_are_unique_whatever_their_case(
    clinic: Clinic, create: CreateSpecialty
) -> None:
    before = clinic.snapshot()
    with pytest.raises(AlreadyExists):
        await create(clinic.actor("admin"), "FAMILY MEDICINE")
    assert clinic.snapshot() == before


@pytest.mark.parametrize(
    ("name", "description", "field"),
    [("   ", "", "name"), ("x" * 121, "", "name"), ("Ok", "d" * 2001, "description")],
)
async def test_invalid_names_and_descriptions_are_refused_by_field(
    clinic: Clinic, create: CreateSpecialty, name: str, description: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await create(clinic.actor("admin"), name, description)
    assert refused.value.field == field


async def test_admin_renames_a_specialty_and_only_sent_fields_change(
    clinic: Clinic, create: CreateSpecialty, update: UpdateSpecialty
) -> None:
    cardiology = await create(clinic.actor("admin"), "Cardiology", "Hearts")

    renamed = await update(clinic.actor("admin"), cardiology.id, SpecialtyChanges(name="Cardio"))

    assert (renamed.name, renamed.description) == ("Cardio", "Hearts")
    assert clinic.store.specialties[cardiology.id].name == "Cardio"
    audit = [e for e in clinic.store.audit.values() if e.target_id == str(cardiology.id)]
    assert [(e.action, e.details) for e in audit][-1] == (
        "specialty.updated",
        {"fields": ["name"]},
    )


async def test_renaming_onto_a_taken_name_is_refused_and_changes_nothing(
    clinic: Clinic, create: CreateSpecialty, update: UpdateSpecialty
) -> None:
    cardiology = await create(clinic.actor("admin"), "Cardiology")
    before = clinic.snapshot()

    with pytest.raises(AlreadyExists):
        await update(clinic.actor("admin"), cardiology.id, SpecialtyChanges(name="family Medicine"))

    assert clinic.snapshot() == before
    assert clinic.store.specialties[cardiology.id].name == "Cardiology"


async def test_an_empty_edit_writes_nothing(
    clinic: Clinic, create: CreateSpecialty, update: UpdateSpecialty
) -> None:
    cardiology = await create(clinic.actor("admin"), "Cardiology")
    before = clinic.snapshot()
    assert await update(clinic.actor("admin"), cardiology.id, SpecialtyChanges()) == cardiology
    assert clinic.snapshot() == before


async def test_edits_need_an_admin_and_an_existing_specialty(
    clinic: Clinic, update: UpdateSpecialty
) -> None:
    existing = next(iter(clinic.store.specialties))
    with pytest.raises(PermissionDenied):
        await update(clinic.actor("doctor"), existing, SpecialtyChanges(name="Mine"))
    with pytest.raises(NotFound):
        await update(clinic.actor("admin"), uuid7(), SpecialtyChanges(name="Nowhere"))
