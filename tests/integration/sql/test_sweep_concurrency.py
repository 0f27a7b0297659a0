"""The expiry sweep run by several workers at once: each overdue appointment changes
once, with one event and one audit entry, and no sweep fails.

Each sweep has its own engine (its own connections, like a separate ``hduce worker``)
over one PostgreSQL or SQLite database, all started at once with ``asyncio.gather``.
On PostgreSQL the sweeps queue on the appointment's row lock and the later ones see a
new version; on SQLite the later write finds the version changed and is skipped.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine
from hduce.adapters.sql.models import AuditRow, OutboxRow
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.expiry import ExpireOverdueAppointments
from hduce.domain import events
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import SchedulingPolicy
from tests.fakes import FixedClock
from tests.integration.sql.test_booking_concurrency import FIRST_SLOT, NOW, _seed

SWEEPS = 4
VISITS = 8
POLICY = SchedulingPolicy()


@pytest.fixture
async def sweep_engines(migrated_url: str) -> AsyncIterator[list[AsyncEngine]]:
    created = [create_engine(migrated_url, pool_size=2) for _ in range(SWEEPS)]
    try:
        yield created
    finally:
        for engine in created:
            await engine.dispose()


async def test_concurrent_expiry_sweeps_change_each_appointment_once(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, sweep_engines: list[AsyncEngine]
) -> None:
    (doctor,), patients = await _seed(uow_factory, doctors=1, patients=VISITS)
    clock = FixedClock(NOW)
    book = BookAppointment(uow_factory, clock, POLICY)
    booked = []
    for n, patient in enumerate(patients):
        # Half unanswered requests (cancelled), half approved visits (no-shows).
        # (An admin books straight into APPROVED; a doctor's booking would be a proposal.)
        actor = Actor(Role.ADMIN, uuid7()) if n % 2 else Actor(Role.PATIENT, patient.id)
        booked.append(
            await book(
                BookAppointmentCommand(
                    actor=actor,
                    doctor_id=doctor.id,
                    patient_id=patient.id if n % 2 else None,
                    starts_at=FIRST_SLOT + timedelta(minutes=30 * n),
                    approve=True if n % 2 else None,
                )
            )
        )
    clock.set(FIRST_SLOT + timedelta(days=1))
    sweeps = [
        ExpireOverdueAppointments(SqlUnitOfWorkFactory(e), clock, POLICY) for e in sweep_engines
    ]

    counts = await asyncio.gather(*(sweep() for sweep in sweeps))

    assert sum(counts) == VISITS
    async with uow_factory() as uow:
        after = [await uow.appointments.get(appointment.id) for appointment in booked]
    assert [a.status if a else None for a in after] == [
        AppointmentStatus.NO_SHOW if n % 2 else AppointmentStatus.CANCELLED for n in range(VISITS)
    ]
    async with engine.connect() as connection:
        emitted = Counter(
            (row.aggregate_id, row.type)
            for row in await connection.execute(
                select(OutboxRow.aggregate_id, OutboxRow.type).where(
                    OutboxRow.type.in_([events.APPOINTMENT_CANCELLED, events.APPOINTMENT_NO_SHOW])
                )
            )
        )
        audited = Counter(
            await connection.scalars(
                select(AuditRow.target_id).where(AuditRow.action == "appointment.expired")
            )
        )
    assert emitted == Counter(
        {
            (a.id, events.APPOINTMENT_NO_SHOW if n % 2 else events.APPOINTMENT_CANCELLED): 1
            for n, a in enumerate(booked)
        }
    )
    assert audited == Counter({str(a.id): 1 for a in booked})
