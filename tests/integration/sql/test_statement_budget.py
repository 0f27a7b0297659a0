"""How many SQL statements the hot paths send, counted on PostgreSQL.

A booking and a page of "my appointments" are the requests the clinic makes most;
each statement is a round trip to the database, so their number is part of the cost.
The counts are not timings: they do not depend on the machine, and a change that adds
a query per row or a query per repository call shows up here at once.

Counted with SQLAlchemy's ``before_cursor_execute`` (every statement the code sends)
and ``begin`` (every transaction) on the engine, around the use case alone. The driver
adds a ``BEGIN`` and a ``COMMIT``/``ROLLBACK`` of its own per transaction, which
``bench/`` counts on the wire; authentication is not part of the use case.
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
from hduce.application.appointments.queries import ListAppointments
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
#: One page of a list, whatever its size: the rows with the total, then their history.
LIST_PAGE_BUDGET = 2


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


async def test_a_page_of_my_appointments_is_two_statements_whatever_its_size(
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
        with counting(engine) as counted:
            page = await use_case(patient, AppointmentQuery(page=PageRequest(limit, offset)))
        assert page.total == 25
        assert len(page.items) == min(limit, 25 - offset)
        assert all(len(item.history) == 2 for item in page.items)
        assert [item.id for item in page.items] == [a.id for a in appointments][
            offset : offset + limit
        ]
        assert counted.transactions == 1, counted
        assert len(counted.statements) <= LIST_PAGE_BUDGET, counted.statements
