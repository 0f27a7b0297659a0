"""Visit types and buffered appointments in the SQL store, on PostgreSQL and SQLite.

The storage's own overlap rule covers the buffers: on PostgreSQL the doctor's exclusion
constraint works on the stored blocked range, on SQLite the guarded write re-checks it
(ADR 0020). A race of many bookings whose visits do not overlap but whose buffered
ranges do leaves exactly one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.adapters.sql.models import AppointmentRow
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.domain.appointments import Appointment
from hduce.domain.errors import SlotConflict, StaleVersion
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import SchedulingPolicy, TimeSlot
from hduce.domain.visit_types import Buffers, VisitType
from tests.fakes import FixedClock
from tests.integration.sql.test_booking_concurrency import (
    CONCURRENT_BOOKINGS,
    _race,
    _seed,
    _stored_rows,
)
from tests.unit.adapters.contract import ALWAYS_OPEN, POLICY, seed_clinic

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
START = datetime(2030, 1, 8, 9, 0, tzinfo=UTC)


def _kind(doctor_id: object, **changes: object) -> VisitType:
    fields: dict[str, object] = {
        "id": uuid7(),
        "doctor_id": doctor_id,
        "name": "First visit",
        "duration": timedelta(minutes=40),
        "buffer_before": timedelta(minutes=10),
        "buffer_after": timedelta(minutes=5),
        "booking_horizon": timedelta(days=30),
        "minimum_notice": timedelta(hours=2),
    }
    fields.update(changes)
    return VisitType(**fields)  # type: ignore[arg-type]


async def test_visit_types_are_stored_changed_and_deleted(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    doctor_id = clinic.doctor.user_id
    first, second = _kind(doctor_id, name="Follow-up"), _kind(doctor_id, name="first visit")
    other = _kind(clinic.other_doctor.user_id)
    async with uow_factory() as uow:
        for kind in (first, second, other):
            await uow.visit_types.add(kind)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.visit_types.get(first.id) == first
        assert [k.name for k in await uow.visit_types.list_for(doctor_id)] == [
            "first visit",
            "Follow-up",
        ]
        longer = _kind(
            doctor_id, id=first.id, name="Follow-up", duration=timedelta(hours=1), version=2
        )
        await uow.visit_types.save(longer, expected_version=1)
        with pytest.raises(StaleVersion):
            await uow.visit_types.save(longer, expected_version=1)
        assert await uow.visit_types.delete(second.id)
        assert not await uow.visit_types.delete(second.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.visit_types.get(first.id) == longer
        assert await uow.visit_types.get(second.id) is None
        assert [k.id for k in await uow.visit_types.list_for(doctor_id)] == [first.id]


def _buffered(clinic: object, start: datetime, *, patient: object, buffers: Buffers) -> Appointment:
    return Appointment.book(
        actor=clinic.admin_actor,  # type: ignore[attr-defined]
        patient_id=patient.id,  # type: ignore[attr-defined]
        doctor_id=clinic.doctor.user_id,  # type: ignore[attr-defined]
        slot=TimeSlot.of(start, timedelta(minutes=40)),
        reason="",
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=(),
        buffers=buffers,
    )


async def test_the_storage_refuses_a_visit_inside_anothers_buffers(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """Written without the domain's check (``existing=()``): the storage alone refuses."""
    clinic = await seed_clinic(uow_factory)
    buffers = Buffers(timedelta(minutes=10), timedelta(minutes=15))
    first = _buffered(clinic, START, patient=clinic.patient, buffers=buffers)
    async with uow_factory() as uow:
        await uow.appointments.add(first)
        await uow.commit()

    # Another patient's visit right after the first (touching its visit, inside its
    # 15-minute buffer): the doctor's blocked ranges overlap.
    clash = _buffered(
        clinic, START + timedelta(minutes=40), patient=clinic.other_patient, buffers=Buffers()
    )
    with pytest.raises(SlotConflict) as refused:
        async with uow_factory() as uow:
            await uow.appointments.add(clash)
            await uow.commit()
    assert refused.value.conflicting_ids == (first.id,)
    if engine.dialect.name == "postgresql":
        assert refused.value.__cause__ is not None  # the exclusion constraint's refusal

    # Its own buffer before reaching into the first visit's buffer after: refused too.
    buffered_clash = _buffered(
        clinic,
        START + timedelta(minutes=40 + 15 + 5),
        patient=clinic.other_patient,
        buffers=Buffers(timedelta(minutes=10), timedelta(0)),
    )
    with pytest.raises(SlotConflict):
        async with uow_factory() as uow:
            await uow.appointments.add(buffered_clash)
            await uow.commit()

    # Touching the buffered range is fine; the same patient right after the visit
    # with another doctor too (buffers are the doctor's time).
    touching = _buffered(
        clinic,
        START + timedelta(minutes=40 + 15 + 10),
        patient=clinic.other_patient,
        buffers=Buffers(timedelta(minutes=10), timedelta(0)),
    )
    elsewhere = Appointment.book(
        actor=clinic.admin_actor,
        patient_id=clinic.patient.id,
        doctor_id=clinic.other_doctor.user_id,
        slot=TimeSlot.of(START + timedelta(minutes=40), timedelta(minutes=30)),
        reason="",
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=(),
    )
    async with uow_factory() as uow:
        await uow.appointments.add(touching)
        await uow.appointments.add(elsewhere)
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.appointments.get(first.id)
        busy = await uow.appointments.busy_slots(
            clinic.doctor.user_id, TimeSlot(START - timedelta(hours=1), START + timedelta(hours=3))
        )
    assert stored is not None and stored.buffers == buffers and stored.slot == first.slot
    assert busy == [first.blocked, touching.blocked]
    assert await _stored_rows(engine, AppointmentRow) == 3


async def test_buffered_ranges_racing_exactly_one_wins(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """Visits 31 minutes apart never overlap each other; with 120 minutes of buffer
    after each, every pair of buffered ranges does: exactly one booking wins."""
    (doctor,), patients = await _seed(uow_factory, doctors=1, patients=CONCURRENT_BOOKINGS)
    kind = _kind(
        doctor.id,
        duration=timedelta(minutes=30),
        buffer_before=timedelta(0),
        buffer_after=timedelta(minutes=120),
        minimum_notice=timedelta(hours=1),
    )
    async with uow_factory() as uow:
        await uow.visit_types.add(kind)
        await uow.commit()
    book = BookAppointment(uow_factory, FixedClock(NOW), SchedulingPolicy())
    for round_number in range(3):
        starts_at = START + timedelta(hours=6 * round_number)
        commands = [
            BookAppointmentCommand(
                actor=Actor(Role.PATIENT, patient.id),
                doctor_id=doctor.id,
                # Distinct patients: only the doctor's buffered ranges collide.
                starts_at=starts_at + timedelta(minutes=31 * (n % 5)),
                visit_type_id=kind.id,
            )
            for n, patient in enumerate(patients)
        ]
        winner, _ = await _race(book, commands, engine.dialect.name)
        assert winner.buffers == Buffers(timedelta(0), timedelta(minutes=120))
    assert await _stored_rows(engine, AppointmentRow) == 3
