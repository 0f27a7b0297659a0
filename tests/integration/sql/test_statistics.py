"""``SqlClinicStatistics`` on PostgreSQL and SQLite gives exactly the answer of the
in-memory reference for the same rows: same groups, same counts, and the same local
days in zones with half- and quarter-hour offsets and across a change to summer time
(the SQL version counts per UTC quarter-hour and folds; the reference converts each
appointment)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.memory import InMemoryStore, InMemoryUnitOfWorkFactory
from hduce.adapters.memory.statistics import InMemoryClinicStatistics
from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.adapters.sql.statistics import SqlClinicStatistics
from hduce.application.ports import AppointmentFigures, PopulationFigures
from hduce.domain.appointments import Appointment
from hduce.domain.appointments import AppointmentStatus as S
from hduce.domain.demographics import AgeBand
from hduce.domain.identity import Sex
from hduce.domain.scheduling import DoctorAvailability, LocalInterval, WeeklyHours
from tests.fakes import FixedClock
from tests.unit.adapters import contract
from tests.unit.application.stats_dataset import (
    NOW,
    WINDOW_END,
    WINDOW_START,
    StatsWorld,
    build_stats_world,
    store_stats_world,
    utc,
)

ZONES = [
    "UTC",
    "Europe/Madrid",  # CET -> CEST at 2030-03-31 01:00 UTC, inside the dataset
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 (DST in March)
    "Pacific/Chatham",  # +13:45 in January
]
WINDOWS = [
    (WINDOW_START, WINDOW_END),
    (utc("2029-12-01T00:00"), utc("2030-12-01T00:00")),  # everything
    (utc("2030-03-30T23:15"), utc("2030-03-31T01:00")),  # the DST edge, end excluded
    (utc("2031-01-01T00:00"), utc("2031-02-01T00:00")),  # nothing at all
]
#: Today (ages) on several days: birthdays of the dataset's patients and a 29 February.
TODAYS = [date(2030, 1, 6), date(2030, 1, 7), date(2030, 1, 8), date(2032, 2, 29)]


def comparable(figures: AppointmentFigures) -> dict[str, Any]:
    """The figures with their unordered sequences sorted."""
    return {
        "by_status": dict(figures.by_status),
        "by_day": dict(figures.by_day),
        "by_doctor": sorted(figures.by_doctor, key=lambda c: c.doctor_id),
        "by_specialty": sorted(figures.by_specialty, key=lambda c: c.specialty_id),
    }


def comparable_population(figures: PopulationFigures) -> dict[str, Any]:
    return {
        "doctors_by_specialty": sorted(figures.doctors_by_specialty, key=lambda c: c.specialty_id),
        "patients_by_sex": dict(figures.patients_by_sex),
        "patients_by_age_band": dict(figures.patients_by_age_band),
    }


@pytest.fixture
async def world(uow_factory: SqlUnitOfWorkFactory) -> StatsWorld:
    return await store_stats_world(uow_factory, build_stats_world())


@pytest.fixture
def sql_statistics(engine: AsyncEngine, world: StatsWorld) -> SqlClinicStatistics:
    return SqlClinicStatistics(engine)


@pytest.fixture
async def reference(world: StatsWorld) -> InMemoryClinicStatistics:
    """The in-memory statistics over the very same records (same ids)."""
    store = InMemoryStore()
    await store_stats_world(InMemoryUnitOfWorkFactory(store, FixedClock(NOW)), world)
    return InMemoryClinicStatistics(store)


async def test_appointment_figures_match_the_reference(
    sql_statistics: SqlClinicStatistics, reference: InMemoryClinicStatistics
) -> None:
    # One test walks every case: a database per case would cost seconds each.
    for start, end in WINDOWS:
        for timezone in ZONES:
            expected = await reference.appointments(start, end, timezone=timezone)
            actual = await sql_statistics.appointments(start, end, timezone=timezone)
            assert comparable(actual) == comparable(expected), (start, end, timezone)


async def test_population_figures_match_the_reference(
    sql_statistics: SqlClinicStatistics, reference: InMemoryClinicStatistics
) -> None:
    for today in TODAYS:
        expected = await reference.population(today)
        actual = await sql_statistics.population(today)
        assert comparable_population(actual) == comparable_population(expected), today


async def test_known_answer_in_madrid(
    sql_statistics: SqlClinicStatistics, world: StatsWorld
) -> None:
    """Not only equal to the reference: equal to the numbers worked out by hand."""
    figures = comparable(
        await sql_statistics.appointments(WINDOW_START, WINDOW_END, timezone="Europe/Madrid")
    )
    assert figures["by_status"] == {
        S.COMPLETED: 4,
        S.NO_SHOW: 1,
        S.PENDING: 2,
        S.APPROVED: 2,
        S.CHECKED_IN: 1,
        S.CANCELLED: 1,
        S.REJECTED: 1,
        S.ENTERED_IN_ERROR: 1,
    }
    assert figures["by_day"] == {
        date(2029, 12, 8): 1,
        date(2029, 12, 20): 1,
        date(2030, 1, 2): 1,
        date(2030, 1, 3): 2,
        date(2030, 1, 4): 1,
        date(2030, 1, 5): 1,
        date(2030, 1, 8): 2,  # 23:30 UTC on the 7th is 00:30 on the 8th in Madrid
        date(2030, 1, 10): 2,
        date(2030, 1, 15): 1,
        date(2030, 2, 6): 1,
    }
    assert {(c.full_name, c.count) for c in figures["by_doctor"]} == {
        ("Alice Heart", 6),
        ("Bob Beat", 4),
        ("Carla Skin", 3),
    }
    assert {(c.name, c.count) for c in figures["by_specialty"]} == {
        ("Cardiology", 10),
        ("Dermatology", 3),
    }
    people = await sql_statistics.population(date(2030, 1, 7))
    assert {(c.name, c.count) for c in people.doctors_by_specialty} == {
        ("Cardiology", 2),
        ("Dermatology", 1),
        ("Paediatrics", 0),
    }
    assert dict(people.patients_by_sex) == {
        Sex.FEMALE: 3,
        Sex.MALE: 2,
        Sex.OTHER: 1,
        Sex.UNKNOWN: 2,
    }
    assert dict(people.patients_by_age_band) == {
        AgeBand.UNDER_18: 2,
        AgeBand.FROM_18_TO_39: 2,
        AgeBand.FROM_40_TO_64: 1,
        AgeBand.FROM_65: 1,
        AgeBand.UNKNOWN: 2,
    }


async def test_local_days_across_the_change_to_summer_time(
    sql_statistics: SqlClinicStatistics,
) -> None:
    figures = await sql_statistics.appointments(
        utc("2030-03-30T00:00"), utc("2030-04-01T00:00"), timezone="Europe/Madrid"
    )
    assert dict(figures.by_day) == {date(2030, 3, 31): 3}
    in_utc = await sql_statistics.appointments(
        utc("2030-03-30T00:00"), utc("2030-04-01T00:00"), timezone="UTC"
    )
    assert dict(in_utc.by_day) == {date(2030, 3, 30): 1, date(2030, 3, 31): 2}


async def test_appointments_per_institution_and_filtered_by_one(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """ADR 0025: visits count under the institution whose hours covered them; the
    filter limits every appointment figure to one institution; SQL agrees with memory."""
    memory = InMemoryStore()
    factories = (uow_factory, InMemoryUnitOfWorkFactory(memory, FixedClock(NOW)))
    clinic = contract.new_clinic()
    north, south = contract.new_institution("North"), contract.new_institution("South")
    # Monday: 00:00-10:00 at the north, 10:00-12:00 at the south, 12:00-24:00 unassigned.
    hours = DoctorAvailability(
        "UTC",
        WeeklyHours(
            {
                0: (
                    LocalInterval(time(0), time(10), institution_id=north.id),
                    LocalInterval(time(10), time(12), institution_id=south.id),
                    LocalInterval(time(12), time(0)),
                )
            }
        ),
    )

    def visit(minutes: int) -> Appointment:
        return Appointment.book(
            actor=clinic.admin_actor,
            patient_id=clinic.patient.id,
            doctor_id=clinic.doctor.id,
            slot=contract.slot(minutes),  # from Monday 09:00 UTC
            reason="",
            now=contract.NOW,
            policy=contract.POLICY,
            availability=hours,
            existing=(),
        )

    visits = [visit(0), visit(60), visit(90), visit(180)]  # north, south, south, none
    assert [v.institution_id for v in visits] == [north.id, south.id, south.id, None]
    for factory in factories:
        async with factory() as uow:
            for user in clinic.users:
                await uow.users.add(user)
            await contract.store_clinic_profiles(uow, clinic)
            await uow.institutions.add(north)
            await uow.institutions.add(south)
            await uow.commit()
        await contract.store_appointments(factory, *visits)
    start, end = contract.at(days=-1), contract.at(days=14)
    for statistics in (SqlClinicStatistics(engine), InMemoryClinicStatistics(memory)):
        every = await statistics.appointments(start, end, timezone="UTC")
        assert sorted((c.name, c.count) for c in every.by_institution) == [
            ("North", 1),
            ("South", 2),
        ]
        assert sum(every.by_status.values()) == 4
        at_south = await statistics.appointments(
            start, end, timezone="UTC", institution_id=south.id
        )
        assert [(c.name, c.count) for c in at_south.by_institution] == [("South", 2)]
        assert sum(at_south.by_status.values()) == 2
        assert [(c.doctor_id, c.count) for c in at_south.by_doctor] == [(clinic.doctor.id, 2)]
        assert [c.count for c in at_south.by_specialty] == [2]
