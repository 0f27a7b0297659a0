"""The frame of the state-changing use cases: one unit of work, audit, commit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.application.use_case import UseCase, load
from hduce.domain.clinic import Specialty
from hduce.domain.errors import NotFound
from hduce.domain.identity import Actor
from hduce.domain.ids import uuid7
from tests.unit.application.support import NOW, Clinic


class AddSpecialty(UseCase):
    """A use case that adds a specialty, audits it unless told not to, or fails."""

    async def __call__(self, actor: Actor, name: str, *, audit_it: bool = True) -> Specialty:
        specialty = Specialty(id=uuid7(), name=name)
        async with self.change(actor) as (uow, audit):
            await uow.specialties.add(specialty)
            if name == "boom":
                raise RuntimeError("the rule refused after writing")
            if audit_it:
                await audit("specialty.created", "specialty", specialty.id, name=name)
        return specialty


@pytest.fixture
def add(clinic: Clinic) -> AddSpecialty:
    return AddSpecialty(clinic.uow_factory, clinic.clock)


def names(clinic: Clinic) -> set[str]:
    return {s.name for s in clinic.store.specialties.values()}


async def test_an_audited_change_commits_once_with_its_entry(
    clinic: Clinic, add: AddSpecialty
) -> None:
    admin, commits = clinic.people.admin, clinic.store.commits

    specialty = await add(admin.actor, "Neurology")

    assert "Neurology" in names(clinic)
    assert clinic.store.commits == commits + 1
    [entry] = clinic.audit_of(specialty.id)
    assert (entry.action, entry.target_type, entry.details) == (
        "specialty.created",
        "specialty",
        {"name": "Neurology"},
    )
    assert (entry.actor_role, entry.actor_id, entry.at) == (admin.role, admin.id, NOW)


async def test_a_block_that_audits_nothing_changed_nothing_and_is_rolled_back(
    clinic: Clinic, add: AddSpecialty
) -> None:
    before = clinic.snapshot()

    await add(clinic.people.admin.actor, "Neurology", audit_it=False)

    assert "Neurology" not in names(clinic)
    assert clinic.snapshot() == before


async def test_an_exception_rolls_back_the_writes(clinic: Clinic, add: AddSpecialty) -> None:
    before = clinic.snapshot()

    with pytest.raises(RuntimeError):
        await add(clinic.people.admin.actor, "boom")

    assert "boom" not in names(clinic)
    assert clinic.snapshot() == before


async def test_an_entry_may_carry_the_instant_the_use_case_took(clinic: Clinic) -> None:
    earlier = NOW - timedelta(seconds=3)

    class Touch(UseCase):
        async def __call__(self, actor: Actor) -> None:
            async with self.change(actor) as (_, audit):
                await audit("noted", "thing", "t-1", at=earlier)

    await Touch(clinic.uow_factory, clinic.clock)(clinic.people.admin.actor)

    [entry] = [e for e in clinic.store.audit.values() if e.action == "noted"]
    assert entry.at == earlier


async def test_load_answers_the_record_or_not_found(clinic: Clinic) -> None:
    doctor_id, missing = clinic.people.doctor.id, uuid7()
    async with clinic.uow_factory() as uow:
        doctor = await load(uow.doctors.get, doctor_id, "doctor")
        with pytest.raises(NotFound) as refused:
            await load(uow.doctors.get, missing, "doctor")

    assert doctor.id == doctor_id
    assert (refused.value.entity, refused.value.entity_id) == ("doctor", missing)
