"""How many SQL statements the hot paths send, counted on PostgreSQL.

A booking and a page of "my appointments" are the requests the clinic makes most;
each statement is a round trip to the database, so their number is part of the cost.
The counts are not timings: they do not depend on the machine, and a change that adds
a query per row or a query per repository call shows up here at once.

Counted with SQLAlchemy's ``before_cursor_execute`` (every statement the code sends)
and ``begin`` (every transaction) on the engine, around the use case alone. The driver
adds a ``BEGIN`` and a ``COMMIT``/``ROLLBACK`` of its own per transaction, which
``bench/`` counts on the wire; authentication is not part of the use case. Reads in a
read-only unit of work are counted as the driver sends them (asyncpg's query logger):
they must not open a transaction at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.queries import ListAppointments, ListAppointmentViews
from hduce.application.identity.accounts import GetMe
from hduce.application.ports import AppointmentQuery, PageRequest
from hduce.domain.identity import Actor, Role
from hduce.domain.scheduling import ExtraHours, LocalInterval, TimeOff, WeeklyHours
from tests.fakes import FixedClock
from tests.unit.adapters.contract import NOW, POLICY, Clinic, book, seed_clinic, slot

ALL_DAY = WeeklyHours({day: (LocalInterval(time(0), time(0)),) for day in range(7)})

#: Statements of one booking: the patient's account, the doctor with their account and
#: the doctor's availability (one statement: ``AvailabilityRepository.for_booking``),
#: the overlapping appointments, the appointment with its first history line, and at
#: commit the audit entry with the event and its NOTIFY. With the driver's BEGIN and
#: COMMIT, 6 on the wire (issue 10's budget).
BOOKING_BUDGET = 4
#: One page of a list, whatever its size: the rows with the total and their histories.
LIST_PAGE_BUDGET = 1


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Counted]:
    counted = Counted()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        counted.statements.append(" ".join(sql.split())[:80])

    def begin(_conn: Any) -> None:
        counted.transactions += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine, "begin", begin)
    try:
        yield counted
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
        event.remove(engine.sync_engine, "begin", begin)


@contextmanager
def on_the_wire(engine: AsyncEngine) -> Iterator[list[str]]:
    """The simple queries asyncpg sends on the engine's connections: ``BEGIN``,
    ``ROLLBACK`` and ``COMMIT`` (SQLAlchemy's events miss them; prepared statements,
    which SQLAlchemy's own events count, do not reach this logger)."""
    sent: list[str] = []

    def log(record: Any) -> None:
        sent.append(" ".join(record.query.split())[:80])

    def checkout(dbapi_connection: Any, *_args: Any) -> None:
        driver = dbapi_connection.driver_connection
        driver.remove_query_logger(log)
        driver.add_query_logger(log)

    event.listen(engine.sync_engine, "checkout", checkout)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "checkout", checkout)


@pytest.fixture
async def engine(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_database(postgres_database)
    engine = create_engine(postgres_database, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def clinic(engine: AsyncEngine) -> Clinic:
    uow_factory = SqlUnitOfWorkFactory(engine)
    clinic = await seed_clinic(uow_factory)
    async with uow_factory() as uow:
        doctor_id = clinic.doctor.user_id
        await uow.availability.replace_weekly(doctor_id, ALL_DAY)
        # Something in every part of the availability, so each is really read.
        await uow.availability.add_time_off(doctor_id, TimeOff(slot(0, days=-2), "training"))
        await uow.availability.add_extra_hours(
            doctor_id, ExtraHours(on=date(2030, 1, 6), interval=LocalInterval(time(9), time(12)))
        )
        await uow.commit()
    return clinic


async def test_a_booking_is_one_transaction_within_its_statement_budget(
    engine: AsyncEngine, clinic: Clinic
) -> None:
    use_case = BookAppointment(SqlUnitOfWorkFactory(engine), FixedClock(NOW), POLICY)
    patient = Actor(Role.PATIENT, clinic.patient.id)
    for n in range(3):  # the same budget every time, not only on a cold cache
        with counting(engine) as counted:
            booked = await use_case(
                BookAppointmentCommand(
                    actor=patient, doctor_id=clinic.doctor.user_id, starts_at=slot(60 * n).start
                )
            )
        assert booked.is_occupying
        assert counted.transactions == 1, counted
        assert len(counted.statements) <= BOOKING_BUDGET, counted.statements
        # No savepoint, no advisory lock: the exclusion constraints arbitrate.
        assert not [s for s in counted.statements if "SAVEPOINT" in s or "advisory" in s]


async def test_a_page_of_my_appointments_is_one_round_trip_whatever_its_size(
    engine: AsyncEngine, clinic: Clinic
) -> None:
    uow_factory = SqlUnitOfWorkFactory(engine)
    appointments = []
    for n in range(25):
        appointment = book(clinic, slot(0, days=n))
        appointment.approve(actor=clinic.admin_actor, now=NOW, existing=())
        appointments.append(appointment)
    async with uow_factory() as uow:
        for appointment in appointments:
            await uow.appointments.add(appointment)
        await uow.commit()
    use_case = ListAppointments(uow_factory)
    patient = Actor(Role.PATIENT, clinic.patient.id)

    for limit, offset in ((20, 0), (5, 0), (20, 20)):
        with counting(engine) as counted, on_the_wire(engine) as sent:
            page = await use_case(patient, AppointmentQuery(page=PageRequest(limit, offset)))
        assert page.total == 25
        assert len(page.items) == min(limit, 25 - offset)
        assert all(len(item.history) == 2 for item in page.items)
        assert [item.id for item in page.items] == [a.id for a in appointments][
            offset : offset + limit
        ]
        assert len(counted.statements) <= LIST_PAGE_BUDGET, counted.statements
        # No transaction: the page is one statement, its own snapshot.
        assert sent == [], sent

    # The read model of GET /appointments: the same page, the same budget.
    read_model = ListAppointmentViews(uow_factory)
    for limit, offset in ((20, 0), (5, 0), (20, 20)):
        with counting(engine) as counted, on_the_wire(engine) as sent:
            listed = await read_model(patient, AppointmentQuery(page=PageRequest(limit, offset)))
        assert listed.total == 25
        assert all(len(item.history) == 2 for item in listed.items)
        assert [item.id for item in listed.items] == [a.id for a in appointments][
            offset : offset + limit
        ]
        assert len(counted.statements) <= LIST_PAGE_BUDGET, counted.statements
        assert sent == [], sent


async def test_my_account_is_read_in_one_round_trip(engine: AsyncEngine, clinic: Clinic) -> None:
    uow_factory = SqlUnitOfWorkFactory(engine)
    # What a read costs in an ordinary unit of work: its transaction's BEGIN (and end).
    with on_the_wire(engine) as sent:
        async with uow_factory() as uow:
            await uow.users.get(clinic.patient.id)
    assert [s for s in sent if s.startswith("BEGIN")], sent

    get_me = GetMe(uow_factory)
    for _ in range(2):
        with counting(engine) as counted, on_the_wire(engine) as sent:
            me = await get_me(Actor(Role.PATIENT, clinic.patient.id))
        assert me.email == clinic.patient.email
        assert len(counted.statements) == 1 and counted.statements[0].startswith("SELECT users.")
        assert sent == [], sent


async def test_a_read_only_unit_of_work_cannot_commit(engine: AsyncEngine, clinic: Clinic) -> None:
    async with SqlUnitOfWorkFactory(engine)(read_only=True) as uow:
        user = await uow.users.get(clinic.patient.id)
        assert user is not None
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.commit()
