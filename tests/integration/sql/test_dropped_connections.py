"""A connection the database dropped costs no request.

The pool does not ping a connection before lending it (a round trip per request);
instead a unit of work whose first statement meets a dead connection runs it again on
a fresh one. Here PostgreSQL kills the pooled connection's backend
(``pg_terminate_backend``, as a restart or an idle timeout would), and the next
booking, then the next list, still succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.queries import ListAppointments, ListAppointmentViews
from hduce.application.identity.accounts import GetMe
from hduce.application.ports import AppointmentQuery
from hduce.domain.identity import Actor, Role
from hduce.domain.scheduling import LocalInterval, WeeklyHours
from tests.fakes import FixedClock
from tests.unit.adapters.contract import NOW, POLICY, Clinic, seed_clinic, slot

ALL_DAY = WeeklyHours({day: (LocalInterval(time(0), time(0)),) for day in range(7)})


@pytest.fixture
async def engine(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_database(postgres_database)
    # One connection: the one killed is the one the next request gets.
    engine = create_engine(postgres_database, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def admin(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_database, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _pooled_backend(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def _kill(admin: AsyncEngine, pid: int) -> None:
    async with admin.connect() as connection:
        assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # the signal is sent; wait until the backend is gone
            gone = not await connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if gone:
                return
            # pg_stat_activity is a snapshot taken once per transaction: take a new one.
            await connection.rollback()
            await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} still alive")


async def test_the_next_requests_succeed_after_the_backend_was_killed(
    engine: AsyncEngine, admin: AsyncEngine
) -> None:
    uow_factory = SqlUnitOfWorkFactory(engine)
    clinic: Clinic = await seed_clinic(uow_factory)
    async with uow_factory() as uow:
        await uow.availability.replace_weekly(clinic.doctor.user_id, ALL_DAY)
        await uow.commit()
    patient = Actor(Role.PATIENT, clinic.patient.id)
    booking = BookAppointment(uow_factory, FixedClock(NOW), POLICY)
    listing = ListAppointments(uow_factory)

    for n in range(2):
        killed = await _pooled_backend(engine)
        await _kill(admin, killed)

        booked = await booking(
            BookAppointmentCommand(
                actor=patient, doctor_id=clinic.doctor.user_id, starts_at=slot(60 * n).start
            )
        )
        assert booked.is_occupying
        assert await _pooled_backend(engine) != killed

        await _kill(admin, await _pooled_backend(engine))
        page = await listing(patient, AppointmentQuery())
        assert booked.id in [item.id for item in page.items]

        # The read-only path (a connection of the autocommit engine, no ORM transaction).
        await _kill(admin, await _pooled_backend(engine))
        views = await ListAppointmentViews(uow_factory)(patient, AppointmentQuery())
        assert booked.id in [item.id for item in views.items]
        await _kill(admin, await _pooled_backend(engine))
        assert (await GetMe(uow_factory)(patient)).id == clinic.patient.id
