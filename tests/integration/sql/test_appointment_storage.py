"""What the SQL appointment store guarantees beyond the port contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.adapters.sql.models import AppointmentRow, OutboxRow
from hduce.adapters.sql.repositories._support import table
from hduce.application.ports import AppointmentQuery
from hduce.domain import events
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.errors import InvalidInput, SlotConflict
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import SchedulingPolicy, TimeSlot
from tests.unit.adapters.contract import (
    ALWAYS_OPEN,
    NOW,
    Clinic,
    at,
    book,
    cancel,
    new_user,
    seed_clinic,
    slot,
    store_appointments,
)


def _book_long(clinic: Clinic, when: TimeSlot) -> Appointment:
    """A booking under a clinic policy that allows visits of up to two days."""
    return Appointment.book(
        actor=clinic.admin_actor,
        patient_id=clinic.patient.id,
        doctor_id=clinic.doctor.id,
        slot=when,
        reason="observation",
        now=NOW,
        policy=SchedulingPolicy(max_visit_length=timedelta(days=2)),
        availability=ALWAYS_OPEN,
        existing=(),
    )


async def _outbox_types(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list(await connection.scalars(select(OutboxRow.type).order_by(OutboxRow.sequence)))


async def test_a_refused_overlap_leaves_the_transaction_usable(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    taken = book(clinic, slot(0))
    await store_appointments(uow_factory, taken)
    clashing = book(clinic, slot(15), patient=clinic.other_patient)
    fine = book(clinic, slot(60), patient=clinic.other_patient)
    newcomer = new_user("Nora Newcomer")
    async with uow_factory() as uow:
        with pytest.raises(SlotConflict) as refused:
            await uow.appointments.add(clashing)
        # PostgreSQL aborts a transaction on any error; the savepoint kept this one alive.
        await uow.appointments.add(fine)
        await uow.users.add(newcomer)
        await uow.commit()
    assert refused.value.conflicting_ids == (taken.id,)
    async with uow_factory() as uow:
        assert await uow.appointments.get(fine.id) is not None
        assert await uow.appointments.get(clashing.id) is None
        assert await uow.users.get(newcomer.id) is not None


async def test_appointments_last_at_most_a_day_in_the_repository_and_the_schema(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    clinic = await seed_clinic(uow_factory)
    marathon = _book_long(clinic, TimeSlot(at(0), at(hours=25)))
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await uow.appointments.add(marathon)
    exactly_a_day = _book_long(clinic, TimeSlot(at(0), at(hours=24)))
    await store_appointments(uow_factory, exactly_a_day)
    # The CHECK constraint holds even for writes that bypass the repository.
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(
                table(AppointmentRow)
                .insert()
                .values(
                    id=uuid7(),
                    patient_id=clinic.other_patient.id,
                    doctor_id=clinic.other_doctor.id,
                    starts_at=at(days=3),
                    ends_at=at(days=3, hours=24, minutes=1),
                    status="cancelled",
                    reason="",
                    version=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


async def test_save_appends_only_new_history_lines_of_an_untracked_copy(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    await store_appointments(uow_factory, appointment)
    async with uow_factory() as reader:
        copy = await reader.appointments.get(appointment.id)
    assert copy is not None
    copy.approve(actor=clinic.admin_actor, now=NOW, existing=())
    async with uow_factory() as writer:  # never saw ``copy`` before
        await writer.appointments.save(copy, expected_version=1)
        await writer.commit()
    async with uow_factory() as uow:
        stored = await uow.appointments.get(appointment.id)
    assert stored is not None
    assert [line.to_status for line in stored.history] == [
        AppointmentStatus.PENDING,
        AppointmentStatus.APPROVED,
    ]


async def test_events_of_every_aggregate_handed_out_reach_the_outbox(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    clinic = await seed_clinic(uow_factory)
    listed = book(clinic, slot(0))
    overlapping = book(clinic, slot(60), patient=clinic.other_patient)
    await store_appointments(uow_factory, listed, overlapping)
    before = len(await _outbox_types(engine))
    async with uow_factory() as uow:
        (first,) = (
            await uow.appointments.list(AppointmentQuery(patient_id=clinic.patient.id))
        ).items
        (second,) = await uow.appointments.occupying_overlapping(
            slot(60), doctor_id=clinic.other_doctor.id, patient_id=clinic.other_patient.id
        )
        cancel(first, clinic)
        cancel(second, clinic)
        await uow.appointments.save(first, expected_version=1)
        await uow.appointments.save(second, expected_version=1)
        await uow.commit()
    assert (await _outbox_types(engine))[before:] == [events.APPOINTMENT_CANCELLED] * 2


async def test_rollback_drops_the_events_of_undone_changes(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    await store_appointments(uow_factory, appointment)
    before = await _outbox_types(engine)
    async with uow_factory() as uow:
        loaded = await uow.appointments.get(appointment.id)
        assert loaded is not None
        cancel(loaded, clinic)
        await uow.appointments.save(loaded, expected_version=1)
        await uow.rollback()
        await uow.commit()
    assert await _outbox_types(engine) == before


async def test_consultation_fees_round_trip_exactly(uow_factory: SqlUnitOfWorkFactory) -> None:
    clinic = await seed_clinic(uow_factory)
    async with uow_factory() as uow:
        doctor = await uow.doctors.get(clinic.doctor.id)
        assert doctor is not None
        doctor.consultation_fee = Decimal("1234567.8915")
        await uow.doctors.save(doctor)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.doctors.get(clinic.doctor.id)
    assert stored is not None and stored.consultation_fee == Decimal("1234567.8915")


# ------------------------------------------------------------------ PostgreSQL row locks


@pytest.fixture
async def postgres_factory(postgres_database: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    await upgrade_database(postgres_database)
    engine = create_engine(postgres_database, pool_size=4)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


async def test_get_for_update_locks_the_row_until_commit_on_postgresql(
    postgres_factory: SqlUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(postgres_factory)
    appointment = book(clinic, slot(0))
    await store_appointments(postgres_factory, appointment)
    seen_version: list[int] = []

    async def second_editor() -> None:
        async with postgres_factory() as uow:
            locked = await uow.appointments.get(appointment.id, for_update=True)
            assert locked is not None
            seen_version.append(locked.version)

    async with postgres_factory() as first:
        loaded = await first.appointments.get(appointment.id, for_update=True)
        assert loaded is not None
        waiting = asyncio.create_task(second_editor())
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second FOR UPDATE did not wait for the lock"
        loaded.approve(actor=clinic.admin_actor, now=NOW, existing=())
        await first.appointments.save(loaded, expected_version=1)
        await first.commit()
    await asyncio.wait_for(waiting, timeout=10)
    assert seen_version == [2]  # it read the committed change, not a stale copy


async def test_history_rows_are_never_rewritten(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    await store_appointments(uow_factory, appointment)
    for _ in range(2):  # saving twice without a new transition adds nothing
        async with uow_factory() as uow:
            loaded = await uow.appointments.get(appointment.id)
            assert loaded is not None
            await uow.appointments.save(loaded, expected_version=loaded.version)
            await uow.commit()
    async with engine.connect() as connection:
        lines = await connection.scalar(
            select(func.count()).select_from(
                table(AppointmentRow).metadata.tables["appointment_status_history"]
            )
        )
    assert lines == 1
    assert timedelta(0) < slot(0).duration
