"""Recurring series on PostgreSQL and SQLite: the series table and its links, the
all-or-nothing transaction, and a series racing single bookings on the same slots.

The race: one patient books a five-day series while other patients book single visits
on each of its slots, all at once (``asyncio.gather``, each on its own connection).
Whatever the interleaving, no slot is held twice (PostgreSQL's exclusion constraints,
SQLite's write lock), and an all-or-nothing series lands whole or not at all (its
series row with it); a book-what-fits series holds exactly the slots it won.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from itertools import combinations
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.adapters.sql.models import AppointmentRow
from hduce.adapters.sql.repositories.series import SeriesMemberRow, SeriesRow
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.series import (
    BookSeries,
    CancelScope,
    RescheduleSeriesOccurrences,
    SeriesCommand,
    SeriesDoesNotFit,
    SeriesMode,
    SeriesOutcome,
)
from hduce.application.ports import AppointmentQuery, PageRequest
from hduce.domain.appointments import Appointment
from hduce.domain.errors import SlotConflict
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import SchedulingPolicy
from hduce.domain.series import RecurringSeries, SeriesMember
from tests.fakes import FixedClock
from tests.integration.sql.test_booking_concurrency import FIRST_SLOT, NOW, _seed

OCCURRENCES = 5
SINGLES_PER_SLOT = 3
ROUNDS = 4
RULE = f"FREQ=DAILY;COUNT={OCCURRENCES}"


async def _count(engine: AsyncEngine, model: type, *where: object) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model).where(*where)))  # type: ignore[arg-type]


def _series_command(patient: UUID, doctor: UUID, mode: SeriesMode) -> SeriesCommand:
    return SeriesCommand(
        actor=Actor(Role.PATIENT, patient),
        doctor_id=doctor,
        starts_at=FIRST_SLOT,
        rrule=RULE,
        mode=mode,
    )


async def test_the_series_and_its_links_round_trip(uow_factory: SqlUnitOfWorkFactory) -> None:
    (doctor,), (patient,) = await _seed(uow_factory, doctors=1, patients=1)
    book = BookSeries(uow_factory, FixedClock(NOW), SchedulingPolicy())
    outcome = await book(_series_command(patient.id, doctor.id, SeriesMode.ALL_OR_NOTHING))
    assert outcome.series is not None and outcome.fitting == OCCURRENCES
    async with uow_factory() as uow:
        stored = await uow.series.get(outcome.series.id)
        members = await uow.series.members(outcome.series.id)
        first = await uow.series.member_of(members[0].appointment_id)
        assert await uow.series.get(uuid7()) is None
        assert await uow.series.member_of(uuid7()) is None
    assert stored == outcome.series
    assert stored.rule == RULE and stored.first_local_start == datetime(2030, 1, 8, 9, 0)
    assert stored.length == timedelta(minutes=30) and stored.timezone == "UTC"
    assert [m.index for m in members] == list(range(OCCURRENCES))
    assert [m.appointment_id for m in members] == [
        o.appointment.id for o in outcome.occurrences if o.appointment
    ]
    assert first == members[0]


async def test_a_direct_insert_keeps_the_link_unique(uow_factory: SqlUnitOfWorkFactory) -> None:
    (doctor,), (patient,) = await _seed(uow_factory, doctors=1, patients=1)
    book = BookSeries(uow_factory, FixedClock(NOW), SchedulingPolicy())
    outcome = await book(_series_command(patient.id, doctor.id, SeriesMode.ALL_OR_NOTHING))
    assert outcome.series is not None
    taken = outcome.occurrences[0].appointment
    assert taken is not None
    other = RecurringSeries(
        id=uuid7(),
        patient_id=patient.id,
        doctor_id=doctor.id,
        rule=RULE,
        first_local_start=datetime(2030, 1, 8, 9),
        timezone="UTC",
        length=timedelta(minutes=30),
        created_by=None,
        created_at=NOW,
    )
    with pytest.raises(Exception):  # noqa: B017 - the dialects name it differently
        async with uow_factory() as uow:
            await uow.series.add(other, [SeriesMember(other.id, 0, taken.id)])
            await uow.commit()


async def test_all_or_nothing_writes_nothing_when_one_slot_is_taken(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    (doctor,), (patient, other) = await _seed(uow_factory, doctors=1, patients=2)
    single = BookAppointment(uow_factory, FixedClock(NOW), SchedulingPolicy())
    await single(
        BookAppointmentCommand(
            actor=Actor(Role.PATIENT, other.id),
            doctor_id=doctor.id,
            starts_at=FIRST_SLOT + timedelta(days=3),
        )
    )
    book = BookSeries(uow_factory, FixedClock(NOW), SchedulingPolicy())
    with pytest.raises(SeriesDoesNotFit) as refused:
        await book(_series_command(patient.id, doctor.id, SeriesMode.ALL_OR_NOTHING))
    assert [o.problem for o in refused.value.outcome.occurrences] == [
        None,
        None,
        None,
        "slot-conflict",
        None,
    ]
    assert await _count(engine, AppointmentRow) == 1
    assert await _count(engine, SeriesRow) == 0

    outcome = await book(_series_command(patient.id, doctor.id, SeriesMode.BOOK_WHAT_FITS))
    assert outcome.fitting == OCCURRENCES - 1
    assert await _count(engine, AppointmentRow) == OCCURRENCES
    assert await _count(engine, SeriesMemberRow) == OCCURRENCES - 1


PER_ROUND = 1 + OCCURRENCES * SINGLES_PER_SLOT


async def _rounds(uow_factory: SqlUnitOfWorkFactory) -> list[tuple[User, list[User]]]:
    """A doctor and ``PER_ROUND`` patients for each round."""
    doctors, patients = await _seed(uow_factory, doctors=ROUNDS, patients=ROUNDS * PER_ROUND)
    return [
        (doctor, patients[n * PER_ROUND : (n + 1) * PER_ROUND]) for n, doctor in enumerate(doctors)
    ]


async def _race(
    uow_factory: SqlUnitOfWorkFactory,
    mode: SeriesMode,
    doctor: User,
    patients: list[User],
    position: int,
) -> tuple[SeriesOutcome | BaseException, UUID, UUID]:
    series_patient, singles = patients[0], patients[1:]
    clock = FixedClock(NOW)
    book_series = BookSeries(uow_factory, clock, SchedulingPolicy())
    book_single = BookAppointment(uow_factory, clock, SchedulingPolicy())
    commands = [
        BookAppointmentCommand(
            actor=Actor(Role.PATIENT, patient.id),
            doctor_id=doctor.id,
            # Overlapping the series' n-th slot, at different offsets.
            starts_at=FIRST_SLOT + timedelta(days=n // SINGLES_PER_SLOT, minutes=n % 3 * 10),
        )
        for n, patient in enumerate(singles)
    ]
    # The series starts first in round 0 and later in the next ones, so each side wins
    # some rounds.
    tasks = [book_single(c) for c in commands]
    middle = len(tasks) * position // ROUNDS
    tasks.insert(middle, book_series(_series_command(series_patient.id, doctor.id, mode)))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    series_result = results[middle]
    for result in results:
        assert isinstance(result, Appointment | SeriesOutcome | SlotConflict | SeriesDoesNotFit), (
            repr(result)
        )
    async with uow_factory() as uow:
        page = await uow.appointments.list(
            AppointmentQuery(doctor_id=doctor.id, page=PageRequest(limit=100))
        )
    occupying = [a for a in page.items if a.is_occupying]
    # No double booking, ever.
    assert not [(a.id, b.id) for a, b in combinations(occupying, 2) if a.slot.overlaps(b.slot)]
    # Every slot of the series was contended: each ends up held by exactly one visit.
    days = Counter((a.starts_at - FIRST_SLOT).days for a in occupying)
    assert days == dict.fromkeys(range(OCCURRENCES), 1)
    return series_result, series_patient.id, doctor.id


async def test_an_all_or_nothing_series_racing_single_bookings_lands_whole_or_not_at_all(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    landed = Counter[str]()
    for position, (doctor, patients) in enumerate(await _rounds(uow_factory)):
        result, patient_id, doctor_id = await _race(
            uow_factory, SeriesMode.ALL_OR_NOTHING, doctor, patients, position
        )
        held = await _count(
            engine,
            AppointmentRow,
            AppointmentRow.patient_id == patient_id,
            AppointmentRow.doctor_id == doctor_id,
        )
        series_rows = await _count(engine, SeriesRow, SeriesRow.patient_id == patient_id)
        if isinstance(result, SeriesOutcome):
            assert (held, series_rows, result.fitting) == (OCCURRENCES, 1, OCCURRENCES)
            landed["all"] += 1
        else:
            assert isinstance(result, SeriesDoesNotFit | SlotConflict)
            assert (held, series_rows) == (0, 0)
            landed["none:" + type(result).__name__] += 1
    assert sum(landed.values()) == ROUNDS


async def test_a_book_what_fits_series_racing_single_bookings_holds_what_it_won(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    for position, (doctor, patients) in enumerate(await _rounds(uow_factory)):
        result, patient_id, doctor_id = await _race(
            uow_factory, SeriesMode.BOOK_WHAT_FITS, doctor, patients, position
        )
        held = await _count(
            engine,
            AppointmentRow,
            AppointmentRow.patient_id == patient_id,
            AppointmentRow.doctor_id == doctor_id,
        )
        if isinstance(result, SeriesOutcome):
            assert result.series is not None
            members = await _count(
                engine, SeriesMemberRow, SeriesMemberRow.series_id == result.series.id
            )
            assert held == members == result.fitting >= 1
            refused = [o for o in result.occurrences if not o.fits]
            assert all(o.problem == "slot-conflict" for o in refused)
        else:
            assert isinstance(result, SeriesDoesNotFit)
            assert held == 0


async def test_rescheduling_this_and_following_relinks_the_replacements(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    (doctor,), (patient,) = await _seed(uow_factory, doctors=1, patients=1)
    clock = FixedClock(NOW)
    outcome = await BookSeries(uow_factory, clock, SchedulingPolicy())(
        _series_command(patient.id, doctor.id, SeriesMode.ALL_OR_NOTHING)
    )
    assert outcome.series is not None
    ids = [o.appointment.id for o in outcome.occurrences if o.appointment]
    # Every occurrence from the second moves one day later: each lands where the next
    # one was, which is fine because that one moves too.
    view = await RescheduleSeriesOccurrences(uow_factory, clock, SchedulingPolicy())(
        Actor(Role.PATIENT, patient.id),
        outcome.series.id,
        ids[1],
        FIRST_SLOT + timedelta(days=2),
        CancelScope.THIS_AND_FOLLOWING,
    )
    starts = [a.starts_at for _, a in view.members]
    assert starts == [FIRST_SLOT] + [FIRST_SLOT + timedelta(days=d) for d in range(2, 6)]
    assert view.members[0][1].id == ids[0]
    assert all(a.replaces == old for (_, a), old in zip(view.members[1:], ids[1:], strict=True))
    async with uow_factory() as uow:
        assert [m.appointment_id for m in await uow.series.members(outcome.series.id)] == [
            a.id for _, a in view.members
        ]
        assert await uow.series.member_of(ids[1]) is None
    assert await _count(engine, SeriesMemberRow) == OCCURRENCES
