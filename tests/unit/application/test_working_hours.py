"""SetWorkingHours: who may, the timezone the hours are meant for, one transaction."""

from __future__ import annotations

from datetime import time

import pytest

from hduce.application.availability.hours import SetWorkingHours
from hduce.domain.errors import BusinessRuleViolation, NotFound, PermissionDenied
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import LocalInterval, WeeklyHours
from tests.unit.application.support import OFFICE_HOURS, Clinic, CountingUnitOfWorkFactory

MORNINGS = WeeklyHours({weekday: (LocalInterval(time(8), time(12)),) for weekday in range(5)})


@pytest.fixture
def factory(clinic: Clinic) -> CountingUnitOfWorkFactory:
    return CountingUnitOfWorkFactory(clinic.uow_factory)


@pytest.fixture
def set_hours(clinic: Clinic, factory: CountingUnitOfWorkFactory) -> SetWorkingHours:
    return SetWorkingHours(factory, clinic.clock)


def working_hours_audit(clinic: Clinic) -> list[str]:
    return [e.action for e in clinic.store.audit.values() if e.action.startswith("doctor.")]


async def test_hours_for_the_doctors_zone_are_set_and_answered_in_one_transaction(
    clinic: Clinic, factory: CountingUnitOfWorkFactory, set_hours: SetWorkingHours
) -> None:
    doctor = clinic.people.doctor
    commits, audited = clinic.store.commits, working_hours_audit(clinic)

    availability = await set_hours(doctor.actor, doctor.id, MORNINGS, timezone="Europe/Madrid")

    assert factory.opened == 1
    assert clinic.store.commits == commits + 1
    assert availability.timezone == "Europe/Madrid"
    assert availability.weekly == MORNINGS
    assert clinic.store.weekly_hours[doctor.id] == MORNINGS
    assert working_hours_audit(clinic) == [*audited, "doctor.working_hours_set"]
    entry = list(clinic.store.audit.values())[-1]
    assert (entry.actor_id, entry.target_id) == (doctor.id, str(doctor.id))


async def test_without_a_timezone_the_hours_are_taken_as_the_doctors(
    clinic: Clinic, factory: CountingUnitOfWorkFactory, set_hours: SetWorkingHours
) -> None:
    admin, doctor = clinic.people.admin, clinic.people.doctor

    availability = await set_hours(admin.actor, doctor.id, MORNINGS)

    assert factory.opened == 1
    assert availability.weekly == MORNINGS


async def test_hours_meant_for_another_zone_are_refused_in_one_transaction(
    clinic: Clinic, factory: CountingUnitOfWorkFactory, set_hours: SetWorkingHours
) -> None:
    doctor = clinic.people.doctor
    before = clinic.snapshot()

    with pytest.raises(BusinessRuleViolation) as refused:
        await set_hours(doctor.actor, doctor.id, MORNINGS, timezone="America/New_York")

    assert refused.value.code == "timezone-mismatch"
    assert refused.value.message == (
        "these hours are meant for America/New_York, but the doctor works in "
        "Europe/Madrid; change the doctor's timezone first"
    )
    assert factory.opened == 1
    assert clinic.snapshot() == before  # no commit, no audit entry
    assert clinic.store.weekly_hours[doctor.id] == OFFICE_HOURS


async def test_strangers_are_refused_before_any_lookup(
    clinic: Clinic, factory: CountingUnitOfWorkFactory, set_hours: SetWorkingHours
) -> None:
    other_doctor, patient = clinic.people.other_doctor, clinic.people.patient

    for actor, doctor_id in [
        (other_doctor.actor, clinic.people.doctor.id),
        (patient.actor, uuid7()),  # not even whether the id is a doctor's
    ]:
        with pytest.raises(PermissionDenied):
            await set_hours(actor, doctor_id, MORNINGS, timezone="America/New_York")

    assert factory.opened == 0


async def test_an_unknown_doctor_is_not_found_before_the_timezone_is_compared(
    clinic: Clinic, set_hours: SetWorkingHours
) -> None:
    with pytest.raises(NotFound):
        await set_hours(clinic.people.admin.actor, uuid7(), MORNINGS, timezone="America/New_York")
