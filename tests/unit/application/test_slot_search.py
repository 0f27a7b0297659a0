"""SearchFreeSlots: free slots across doctors, by specialty and institution."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from hduce.application.availability.slot_search import SearchFreeSlots, SlotSearchResult
from hduce.application.clinic.doctors import ListDoctors
from hduce.domain.errors import InvalidInput
from hduce.domain.ids import uuid7
from hduce.domain.institutions import Address, Institution, InstitutionKind
from hduce.domain.scheduling import LocalInterval, WeeklyHours
from tests.unit.application.support import TUESDAY, Clinic, local


def search_of(clinic: Clinic) -> SearchFreeSlots:
    return SearchFreeSlots(ListDoctors(clinic.uow_factory), clinic.free_slots)


def seen(result: SlotSearchResult) -> list[tuple[str, str]]:
    return [(f"{f.free.local_start:%H:%M}", f.doctor.user.full_name) for f in result.slots]


async def _hospital(clinic: Clinic, name: str, *members: str) -> Institution:
    place = Institution(
        id=uuid7(),
        name=name,
        kind=InstitutionKind.HOSPITAL,
        address=Address(line1="Calle Mayor 1", city="Madrid", country="ES"),
        timezone="Europe/Madrid",
    )
    async with clinic.uow_factory() as uow:
        await uow.institutions.add(place)
        for member in members:
            await uow.institutions.add_member(place.id, getattr(clinic.people, member).id)
        await uow.commit()
    return place


async def test_slots_of_every_doctor_sorted_by_time_then_doctor(clinic: Clinic) -> None:
    await clinic.book("patient", doctor="doctor", starts_at=local(TUESDAY, "09:00"))

    result = await search_of(clinic)(TUESDAY, TUESDAY)

    # Both doctors work 09:00-13:00 and 16:00-18:00 (Madrid); Dora's 09:00 is booked.
    assert seen(result)[:4] == [
        ("09:00", "Diego Doctor"),
        ("09:30", "Diego Doctor"),
        ("09:30", "Dora Doctor"),
        ("10:00", "Diego Doctor"),
    ]
    assert len(result.slots) == 2 * 12 - 1
    assert (result.doctors_matched, result.doctors_scanned, result.truncated) == (2, 2, False)
    starts = [f.free.slot.start for f in result.slots]
    assert starts == sorted(starts)


async def test_an_institution_gives_only_its_doctors_hours_there(clinic: Clinic) -> None:
    north = await _hospital(clinic, "Hospital Norte", "doctor")
    dora = clinic.people.doctor
    mornings = WeeklyHours({1: (LocalInterval(time(8), time(9)),)})
    await clinic.set_working_hours(dora.actor, dora.id, mornings, institution_id=north.id)

    result = await search_of(clinic)(TUESDAY, TUESDAY, institution_id=north.id)

    assert seen(result) == [("08:00", "Dora Doctor"), ("08:30", "Dora Doctor")]
    assert [f.free.institution.id for f in result.slots if f.free.institution] == [north.id] * 2
    assert result.doctors_matched == 1


async def test_a_specialty_without_doctors_finds_nothing(clinic: Clinic) -> None:
    result = await search_of(clinic)(TUESDAY, TUESDAY, specialty_id=uuid7())

    assert (result.slots, result.doctors_matched, result.doctors_scanned) == ([], 0, 0)


async def test_the_limit_and_the_doctor_cap_are_said(clinic: Clinic) -> None:
    search = search_of(clinic)
    limited = await search(TUESDAY, TUESDAY, limit=3)
    search.max_doctors = 1
    capped = await search(TUESDAY, TUESDAY)

    assert len(limited.slots) == 3 and limited.truncated
    assert (capped.doctors_matched, capped.doctors_scanned) == (2, 1)
    assert {f.doctor.user.full_name for f in capped.slots} == {"Diego Doctor"}


@pytest.mark.parametrize(
    ("days", "limit", "field"),
    [(14, 100, "to"), (0, 101, "limit"), (0, 0, "limit")],
)
async def test_a_long_window_or_a_bad_limit_is_refused(
    clinic: Clinic, days: int, limit: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await search_of(clinic)(TUESDAY, TUESDAY + timedelta(days=days), limit=limit)

    assert refused.value.field == field


async def test_thirteen_days_inclusive_is_the_longest_window(clinic: Clinic) -> None:
    result = await search_of(clinic)(TUESDAY, TUESDAY + timedelta(days=13), limit=100)

    assert result.truncated
