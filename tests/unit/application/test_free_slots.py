"""ListFreeSlots: working hours in the doctor's timezone, minus what is taken."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hduce.application.appointments.commands import TransitionCommand
from hduce.application.availability.free_slots import FreeSlot
from hduce.application.availability.hours import AddTimeOff
from hduce.domain.errors import InvalidInput, NotFound
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeOff, TimeSlot
from tests.unit.application.support import MADRID, MONDAY, TUESDAY, Clinic, local

MORNING = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]
AFTERNOON = ["16:00", "16:30", "17:00", "17:30"]


def day_window(first: date, days: int = 1) -> TimeSlot:
    """From local midnight of ``first`` to local midnight ``days`` later (Madrid)."""
    return TimeSlot(local(first, "00:00"), local(first + timedelta(days=days), "00:00"))


def wall_clock(slots: list[FreeSlot]) -> list[str]:
    return [f"{s.local_start:%H:%M}" for s in slots]


async def free(clinic: Clinic, window: TimeSlot, doctor: str = "doctor") -> list[FreeSlot]:
    return await clinic.free_slots(getattr(clinic.people, doctor).id, window)


async def test_a_free_day_offers_every_visit_of_the_office_hours(clinic: Clinic) -> None:
    slots = await free(clinic, day_window(TUESDAY))

    assert wall_clock(slots) == MORNING + AFTERNOON
    assert all(s.timezone == "Europe/Madrid" for s in slots)
    assert all(s.slot.duration == timedelta(minutes=30) for s in slots)
    # The instants are UTC; 09:00 in Madrid in January is 08:00 UTC.
    assert slots[0].slot.start == datetime(2030, 1, 8, 8, 0, tzinfo=UTC)
    assert slots[0].local_start.utcoffset() == timedelta(hours=1)


async def test_occupied_slots_are_left_out_and_freed_ones_come_back(clinic: Clinic) -> None:
    pending = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    await clinic.book("doctor", patient="other_patient", starts_at=local(TUESDAY, "16:30"))

    taken = wall_clock(await free(clinic, day_window(TUESDAY)))
    await clinic.cancel(TransitionCommand(clinic.actor("patient"), pending.id, reason="better"))
    after_cancel = wall_clock(await free(clinic, day_window(TUESDAY)))

    assert "10:00" not in taken
    assert "16:30" not in taken
    assert len(taken) == len(MORNING + AFTERNOON) - 2
    assert "10:00" in after_cancel


async def test_another_doctors_bookings_do_not_count(clinic: Clinic) -> None:
    await clinic.book("other_doctor", patient="patient", starts_at=local(TUESDAY, "10:00"))

    assert wall_clock(await free(clinic, day_window(TUESDAY))) == MORNING + AFTERNOON


async def test_the_minimum_notice_hides_the_next_hour(clinic: Clinic) -> None:
    # Now is Monday 09:00 in Madrid; with one hour of notice the day starts at 10:00.
    slots = await free(clinic, day_window(MONDAY))

    assert wall_clock(slots) == MORNING[2:] + AFTERNOON


async def test_time_off_is_left_out(clinic: Clinic) -> None:
    add_time_off = AddTimeOff(clinic.uow_factory, clinic.clock)
    doctor = clinic.people.doctor
    await add_time_off(
        doctor.actor,
        doctor.id,
        TimeOff(TimeSlot(local(TUESDAY, "11:00"), local(TUESDAY, "12:00")), reason="training"),
    )

    slots = await free(clinic, day_window(TUESDAY))

    assert wall_clock(slots) == ["09:00", "09:30", "10:00", "10:30", "12:00", "12:30", *AFTERNOON]


async def test_nothing_beyond_the_booking_horizon(clinic: Clinic) -> None:
    # The horizon ends 90 days from now: Sunday 2030-04-07 08:00 UTC.
    horizon_end = clinic.clock.now() + clinic.policy.booking_horizon
    window = day_window(date(2030, 4, 1), days=14)

    slots = await free(clinic, window)

    assert slots
    assert max(s.slot.start for s in slots) <= horizon_end
    assert {s.local_start.date() for s in slots} == {date(2030, 4, d) for d in range(1, 6)}


async def test_a_window_longer_than_31_days_is_invalid(clinic: Clinic) -> None:
    start = local(TUESDAY, "00:00")

    month = await free(clinic, TimeSlot(start, start + timedelta(days=31)))
    with pytest.raises(InvalidInput):
        await free(clinic, TimeSlot(start, start + timedelta(days=31, seconds=1)))

    assert month  # exactly 31 days is allowed


async def test_an_unknown_doctor_is_not_found(clinic: Clinic) -> None:
    with pytest.raises(NotFound):
        await clinic.free_slots(uuid7(), day_window(TUESDAY))


async def test_across_the_spring_forward_weekend_nine_oclock_stays_nine_oclock(
    clinic: Clinic,
) -> None:
    sunday = date(2030, 3, 31)
    # Europe/Madrid springs forward on the last Sunday of March: 2030-03-31.
    assert datetime(2030, 3, 30, 12, tzinfo=MADRID).utcoffset() == timedelta(hours=1)
    assert datetime(2030, 3, 31, 12, tzinfo=MADRID).utcoffset() == timedelta(hours=2)
    assert sunday.weekday() == 6
    clinic.clock.set(datetime(2030, 3, 25, 8, 0, tzinfo=UTC))

    slots = await free(clinic, day_window(date(2030, 3, 29), days=4))  # Fri .. Mon

    first_of_each_day: dict[date, FreeSlot] = {}
    for s in slots:
        first_of_each_day.setdefault(s.local_start.date(), s)
    assert sorted(first_of_each_day) == [date(2030, 3, 29), date(2030, 4, 1)]
    friday, monday = first_of_each_day[date(2030, 3, 29)], first_of_each_day[date(2030, 4, 1)]
    assert friday.slot.start == datetime(2030, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert monday.slot.start == datetime(2030, 4, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert f"{friday.local_start:%H:%M}" == f"{monday.local_start:%H:%M}" == "09:00"
    assert wall_clock([s for s in slots if s.local_start.date() == date(2030, 4, 1)]) == (
        MORNING + AFTERNOON
    )
