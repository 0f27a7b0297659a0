"""Calendar input in the doctor's terms: local days (DST-aware, end inclusive) or
instants with an offset; free slots and time off built on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hduce.application.availability.free_slots import FreeSlot
from hduce.application.availability.hours import AddTimeOff
from hduce.application.availability.local_calendar import (
    AddDoctorTimeOff,
    ListDoctorSlots,
    local_range,
    start_of_local_day,
)
from hduce.domain.errors import InvalidInput, NotFound, PermissionDenied
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot
from tests.unit.application.support import MADRID, MONDAY, TUESDAY, WEDNESDAY, Clinic, local

#: The seeded office hours (Madrid), as 30-minute visits.
MORNING = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]
AFTERNOON = ["16:00", "16:30", "17:00", "17:30"]


def wall_clock(slots: list[FreeSlot]) -> list[str]:
    return [f"{s.local_start:%H:%M}" for s in slots]


@pytest.fixture
def slots(clinic: Clinic) -> ListDoctorSlots:
    return ListDoctorSlots(clinic.uow_factory, clinic.free_slots)


@pytest.fixture
def add_time_off(clinic: Clinic) -> AddDoctorTimeOff:
    return AddDoctorTimeOff(clinic.uow_factory, AddTimeOff(clinic.uow_factory, clinic.clock))


# ------------------------------------------------------------------ local days


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2030, 3, 31), 23), (date(2030, 10, 27), 25), (date(2030, 6, 1), 24)],
)
def test_a_local_day_has_its_true_length_across_dst(day: date, hours: int) -> None:
    window = local_range(day, day, "Europe/Madrid", start_field="from", end_field="to")
    assert window.start == start_of_local_day(day, MADRID)
    assert window.duration == timedelta(hours=hours)


def test_dates_are_local_days_and_the_end_date_is_inclusive() -> None:
    window = local_range(
        date(2030, 3, 30), date(2030, 4, 1), "Europe/Madrid", start_field="from", end_field="to"
    )
    # From midnight CET (+01:00) to midnight CEST (+02:00) three days later.
    assert window == TimeSlot(
        datetime(2030, 3, 29, 23, 0, tzinfo=UTC), datetime(2030, 4, 1, 22, 0, tzinfo=UTC)
    )


def test_a_skipped_midnight_starts_the_day_at_the_jump() -> None:
    # Santiago de Chile moves from 00:00 -04:00 straight to 01:00 -03:00 on 2030-09-08.
    first = start_of_local_day(date(2030, 9, 8), ZoneInfo("America/Santiago"))
    assert first == datetime(2030, 9, 8, 4, 0, tzinfo=UTC)


def test_instants_keep_their_offset_and_may_mix_with_dates() -> None:
    plus_two = timezone(timedelta(hours=2))
    window = local_range(
        datetime(2030, 6, 1, 9, 0, tzinfo=plus_two),
        date(2030, 6, 1),
        "Europe/Madrid",
        start_field="from",
        end_field="to",
    )
    assert window == TimeSlot(
        datetime(2030, 6, 1, 7, 0, tzinfo=UTC), datetime(2030, 6, 1, 22, 0, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2030, 6, 1, 9, 0), date(2030, 6, 2), "from"),  # naive
        (date(2030, 6, 1), datetime(2030, 6, 2, 9, 0), "to"),  # naive
        (date(2030, 6, 2), date(2030, 6, 1), "to"),  # backwards
        (
            datetime(2030, 6, 1, 9, 0, tzinfo=UTC),
            datetime(2030, 6, 1, 9, 0, tzinfo=UTC),
            "to",
        ),  # empty
    ],
)
def test_naive_instants_and_empty_ranges_are_refused_by_field(
    start: date, end: date, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        local_range(start, end, "Europe/Madrid", start_field="from", end_field="to")
    assert refused.value.field == field


# ------------------------------------------------------------------ slots


async def test_slots_of_one_local_day_by_date(clinic: Clinic, slots: ListDoctorSlots) -> None:
    found = await slots(clinic.people.doctor.id, TUESDAY, TUESDAY)
    assert wall_clock(found) == MORNING + AFTERNOON
    assert all(s.local_start.date() == TUESDAY for s in found)


async def test_slots_by_instants_cut_the_window_exactly(
    clinic: Clinic, slots: ListDoctorSlots
) -> None:
    found = await slots(clinic.people.doctor.id, local(TUESDAY, "12:00"), local(WEDNESDAY, "09:30"))
    assert wall_clock(found) == ["12:00", "12:30", *AFTERNOON, "09:00"]


async def test_more_than_31_days_is_refused_and_unknown_doctors_are_not_found(
    clinic: Clinic, slots: ListDoctorSlots
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await slots(clinic.people.doctor.id, MONDAY, MONDAY + timedelta(days=31))
    assert refused.value.field == "to"
    assert await slots(clinic.people.doctor.id, MONDAY, MONDAY + timedelta(days=30))
    with pytest.raises(NotFound):
        await slots(uuid7(), MONDAY, MONDAY)


# ------------------------------------------------------------------ time off


async def test_time_off_by_dates_covers_whole_local_days(
    clinic: Clinic, slots: ListDoctorSlots, add_time_off: AddDoctorTimeOff
) -> None:
    doctor = clinic.people.doctor
    scheduled = await add_time_off(clinic.actor("doctor"), doctor.id, TUESDAY, TUESDAY, " Course ")

    assert scheduled.timezone == "Europe/Madrid"
    assert scheduled.time_off.reason == "Course"
    assert scheduled.time_off.slot == TimeSlot(local(TUESDAY, "00:00"), local(WEDNESDAY, "00:00"))
    assert await slots(doctor.id, TUESDAY, TUESDAY) == []
    assert wall_clock(await slots(doctor.id, WEDNESDAY, WEDNESDAY)) == MORNING + AFTERNOON
    audit = [e.action for e in clinic.store.audit.values() if e.target_id == str(doctor.id)]
    assert audit[-1] == "doctor.time_off_added"


async def test_time_off_by_instants_blocks_only_that_time(
    clinic: Clinic, slots: ListDoctorSlots, add_time_off: AddDoctorTimeOff
) -> None:
    doctor = clinic.people.doctor
    await add_time_off(
        clinic.actor("admin"), doctor.id, local(TUESDAY, "10:00"), local(TUESDAY, "12:00")
    )
    found = wall_clock(await slots(doctor.id, TUESDAY, TUESDAY))
    assert found == ["09:00", "09:30", "12:00", "12:30", *AFTERNOON]


async def test_strangers_are_refused_before_the_doctor_is_looked_up(
    clinic: Clinic, add_time_off: AddDoctorTimeOff
) -> None:
    before = clinic.snapshot()
    for target in (clinic.people.doctor.id, uuid7()):
        with pytest.raises(PermissionDenied):
            await add_time_off(clinic.actor("other_doctor"), target, TUESDAY, TUESDAY)
    with pytest.raises(NotFound):
        await add_time_off(clinic.actor("admin"), uuid7(), TUESDAY, TUESDAY)
    with pytest.raises(InvalidInput) as refused:
        await add_time_off(
            clinic.actor("doctor"), clinic.people.doctor.id, TUESDAY, TUESDAY, "r" * 501
        )
    assert refused.value.field == "reason"
    with pytest.raises(InvalidInput) as backwards:
        await add_time_off(clinic.actor("doctor"), clinic.people.doctor.id, WEDNESDAY, TUESDAY)
    assert backwards.value.field == "ends_at"
    assert clinic.snapshot() == before
