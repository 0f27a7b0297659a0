"""Race-free booking: many simultaneous bookings of one slot, exactly one wins.

Each booking goes through the real use case (``BookAppointment``: serialized unit of
work, domain conflict check, insert, commit) on its own connection, all started at
once with ``asyncio.gather``. PostgreSQL's exclusion constraints (or SQLite's write
lock) must leave exactly one appointment, and every loser must get ``SlotConflict``
naming the winner. The same again for one patient booking two doctors at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.adapters.sql.models import AppointmentRow, OutboxRow
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.domain.appointments import Appointment
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.errors import SlotConflict
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from hduce.domain.privacy import is_party
from hduce.domain.scheduling import LocalInterval, SchedulingPolicy, WeeklyHours
from tests.fakes import FixedClock

CONCURRENT_BOOKINGS = 50
ROUNDS = 3
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # Monday
FIRST_SLOT = datetime(2030, 1, 8, 9, 0, tzinfo=UTC)
ALL_DAY = WeeklyHours({day: (LocalInterval(time(0), time(0)),) for day in range(7)})


def _user(name: str, role: Role) -> User:
    return User(
        id=uuid7(),
        email=f"{name.lower().replace(' ', '.')}-{uuid7().hex[-8:]}@example.org",
        full_name=name,
        role=role,
        created_at=NOW,
    )


async def _seed(
    uow_factory: SqlUnitOfWorkFactory, *, doctors: int, patients: int
) -> tuple[list[User], list[User]]:
    specialty = Specialty(id=uuid7(), name="Family medicine")
    doctor_users = [_user(f"Doctor {n}", Role.DOCTOR) for n in range(doctors)]
    patient_users = [_user(f"Patient {n}", Role.PATIENT) for n in range(patients)]
    async with uow_factory() as uow:
        await uow.specialties.add(specialty)
        for user in (*doctor_users, *patient_users):
            await uow.users.add(user)
        for user in doctor_users:
            await uow.doctors.add(
                Doctor(
                    user_id=user.id,
                    licence_number=f"LIC-{user.id.hex[-10:]}",
                    specialty_id=specialty.id,
                    timezone="UTC",
                    visit_minutes=30,
                )
            )
            await uow.availability.replace_weekly(user.id, ALL_DAY)
        await uow.commit()
    return doctor_users, patient_users


async def _race(
    book: BookAppointment, commands: list[BookAppointmentCommand], dialect: str
) -> tuple[Appointment, list[SlotConflict]]:
    results = await asyncio.gather(*(book(command) for command in commands), return_exceptions=True)
    winners = [result for result in results if isinstance(result, Appointment)]
    conflicts = [result for result in results if isinstance(result, SlotConflict)]
    unexpected = [r for r in results if not isinstance(r, Appointment | SlotConflict)]
    assert not unexpected, unexpected
    assert (len(winners), len(conflicts)) == (1, len(commands) - 1), Counter(
        type(result).__name__ for result in results
    )
    winner = winners[0]
    # Each loser is told the winner's id if it is a party to it (the same patient),
    # and no id otherwise (another patient's visit: hduce.domain.privacy).
    for command, result in zip(commands, results, strict=True):
        if isinstance(result, SlotConflict):
            theirs = is_party(
                command.actor, patient_id=winner.patient_id, doctor_id=winner.doctor_id
            )
            assert result.conflicting_ids == ((winner.id,) if theirs else ())
    # Which guard stopped the losers: on PostgreSQL they all read "free" before the
    # winner committed and met the exclusion constraint (its refusal is chained); on
    # SQLite they queued for the write lock and the domain check saw the winner.
    stopped_by_storage = sum(1 for conflict in conflicts if conflict.__cause__ is not None)
    if dialect == "sqlite":
        assert stopped_by_storage == 0
    return winner, conflicts


async def _stored_rows(engine: AsyncEngine, model: type, *where: object) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model).where(*where)))  # type: ignore[arg-type]


@pytest.fixture
def book(uow_factory: SqlUnitOfWorkFactory) -> BookAppointment:
    return BookAppointment(uow_factory, FixedClock(NOW), SchedulingPolicy())


async def test_one_doctor_slot_many_patients(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, book: BookAppointment
) -> None:
    (doctor,), patients = await _seed(uow_factory, doctors=1, patients=CONCURRENT_BOOKINGS)
    winners: list[UUID] = []
    for round_number in range(ROUNDS):
        starts_at = FIRST_SLOT + timedelta(hours=round_number)
        commands = [
            BookAppointmentCommand(
                actor=Actor(Role.PATIENT, patient.id),
                doctor_id=doctor.id,
                # Different lengths and offsets: every pair overlaps, none is identical.
                starts_at=starts_at + timedelta(minutes=n % 3 * 5),
                ends_at=starts_at + timedelta(minutes=20 + n % 4 * 10),
            )
            for n, patient in enumerate(patients)
        ]
        winner, _ = await _race(book, commands, engine.dialect.name)
        winners.append(winner.id)

    assert await _stored_rows(engine, AppointmentRow) == ROUNDS
    async with uow_factory() as uow:
        stored = [await uow.appointments.get(winner) for winner in winners]
    assert all(appointment is not None and appointment.is_occupying for appointment in stored)
    # Only the winners' "requested" events reached the outbox: the losers rolled back.
    assert await _stored_rows(engine, OutboxRow) == ROUNDS
    assert await _stored_rows(engine, OutboxRow, OutboxRow.aggregate_id.in_(winners)) == ROUNDS


async def test_one_patient_two_doctors_at_once(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, book: BookAppointment
) -> None:
    doctors, (patient,) = await _seed(uow_factory, doctors=2, patients=1)
    for round_number in range(ROUNDS):
        starts_at = FIRST_SLOT + timedelta(hours=round_number)
        commands = [
            BookAppointmentCommand(
                actor=Actor(Role.PATIENT, patient.id),
                doctor_id=doctors[n % 2].id,
                starts_at=starts_at + timedelta(minutes=n % 3 * 5),
            )
            for n in range(CONCURRENT_BOOKINGS)
        ]
        await _race(book, commands, engine.dialect.name)
    assert await _stored_rows(engine, AppointmentRow) == ROUNDS


async def test_adjacent_slots_all_succeed(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, book: BookAppointment
) -> None:
    """The other side of the rule: touching visits never conflict, even when racing."""
    (doctor,), patients = await _seed(uow_factory, doctors=1, patients=20)
    commands = [
        BookAppointmentCommand(
            actor=Actor(Role.PATIENT, patient.id),
            doctor_id=doctor.id,
            starts_at=FIRST_SLOT + timedelta(minutes=30 * n),
        )
        for n, patient in enumerate(patients)
    ]
    results = await asyncio.gather(*(book(command) for command in commands), return_exceptions=True)
    assert all(isinstance(result, Appointment) for result in results), results
    assert await _stored_rows(engine, AppointmentRow) == len(patients)
