"""The waitlist on PostgreSQL and SQLite: the repository, and its races.

- one live offer per (doctor, slot start): however many handlers of events freeing the
  same slot run at once (each with its own engine, like separate workers), one offer is
  stored and one ``waitlist.offer_made`` event written;
- an accept racing a direct booking of the same slot: exactly one booking;
- concurrent expiry sweeps expire each offer once and pass it on once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine
from hduce.adapters.sql.models import OutboxRow, WaitlistOfferRow
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.waitlist.offers import (
    AcceptOffer,
    ExpireWaitlistOffers,
    OfferFreedSlot,
    WaitlistPolicy,
)
from hduce.domain import events
from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.appointments import Appointment
from hduce.domain.errors import SlotConflict, StaleVersion
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import SchedulingPolicy, TimeSlot
from hduce.domain.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer
from tests.fakes import FixedClock
from tests.integration.sql.test_booking_concurrency import FIRST_SLOT, NOW, _seed

WORKERS = 6
POLICY = WaitlistPolicy(offer_ttl=timedelta(minutes=15))
SLOT = TimeSlot(FIRST_SLOT, FIRST_SLOT + timedelta(minutes=30))


@pytest.fixture
async def worker_engines(migrated_url: str) -> AsyncIterator[list[AsyncEngine]]:
    created = [create_engine(migrated_url, pool_size=2) for _ in range(WORKERS)]
    try:
        yield created
    finally:
        for engine in created:
            await engine.dispose()


async def _join(
    uow_factory: SqlUnitOfWorkFactory, patient: User, doctor: User, *, minutes_ago: int
) -> WaitlistEntry:
    entry = WaitlistEntry.join(
        entry_id=uuid7(),
        patient_id=patient.id,
        doctor_id=doctor.id,
        window=TimeSlot(FIRST_SLOT - timedelta(hours=1), FIRST_SLOT + timedelta(hours=3)),
        now=NOW - timedelta(minutes=minutes_ago),
    )
    async with uow_factory() as uow:
        await uow.waitlist.add_entry(entry)
        await uow.commit()
    return entry


def _cancelled(doctor: User, patient: User) -> events.DomainEvent:
    """A cancellation of ``patient``'s visit at ``SLOT``: a freed slot (a new event id
    each time, as if several appointments at that time were cancelled)."""
    appointment_id = uuid7()
    return events.DomainEvent(
        occurred_at=NOW,
        aggregate_id=appointment_id,
        aggregate_version=2,
        payload=events.AppointmentCancelled(
            appointment_id=appointment_id,
            patient_id=patient.id,
            doctor_id=doctor.id,
            starts_at=SLOT.start,
            ends_at=SLOT.end,
            from_status=AppointmentStatus.APPROVED,
            status=AppointmentStatus.CANCELLED,
            actor_role=Role.PATIENT,
            actor_id=patient.id,
            reason=None,
            replaces=None,
        ),
    )


async def _offer_rows(engine: AsyncEngine) -> list[WaitlistOfferRow]:
    async with engine.connect() as connection:
        return list(
            await connection.execute(select(WaitlistOfferRow).order_by(WaitlistOfferRow.created_at))
        )  # type: ignore[arg-type]


async def _offer_events(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            await connection.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.type == events.WAITLIST_OFFER_MADE)
            )
            or 0
        )


async def test_the_repository_keeps_one_live_offer_per_slot_and_the_line_order(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    (doctor,), (first, second, late) = await _seed(uow_factory, doctors=1, patients=3)
    later = await _join(uow_factory, second, doctor, minutes_ago=5)
    earlier = await _join(uow_factory, first, doctor, minutes_ago=10)
    narrow = WaitlistEntry.join(
        entry_id=uuid7(),
        patient_id=late.id,
        doctor_id=doctor.id,
        window=TimeSlot(FIRST_SLOT + timedelta(hours=1), FIRST_SLOT + timedelta(hours=2)),
        now=NOW,
    )
    async with uow_factory() as uow:
        await uow.waitlist.add_entry(narrow)
        await uow.commit()

    async with uow_factory() as uow:
        waiting = await uow.waitlist.waiting_for(doctor.id, SLOT)
        assert [e.id for e in waiting] == [earlier.id, later.id]  # line order; narrow misses
        offer = WaitlistOffer.make(
            offer_id=uuid7(), entry=earlier, slot=SLOT, now=NOW, hold=POLICY.offer_ttl
        )
        rival = WaitlistOffer.make(
            offer_id=uuid7(), entry=later, slot=SLOT, now=NOW, hold=POLICY.offer_ttl
        )
        assert await uow.waitlist.add_offer(offer)
        assert not await uow.waitlist.add_offer(rival)  # the slot has a live offer
        await uow.commit()

    async with uow_factory() as uow:
        assert (await uow.waitlist.live_offer(doctor.id, SLOT.start)).id == offer.id  # type: ignore[union-attr]
        assert await uow.waitlist.claim_expired(NOW, 10) == []
        stored = await uow.waitlist.get_offer(offer.id, for_update=True)
        assert stored is not None and stored.expires_at == NOW + POLICY.offer_ttl
        stored.decline(NOW)
        await uow.waitlist.save_offer(stored, expected_version=1)
        with pytest.raises(StaleVersion):
            await uow.waitlist.save_offer(stored, expected_version=1)
        await uow.commit()

    async with uow_factory() as uow:
        # Declined: no longer live, so the next one may be offered the slot.
        assert await uow.waitlist.live_offer(doctor.id, SLOT.start) is None
        assert await uow.waitlist.add_offer(rival)
        assert await uow.waitlist.offered_patients(doctor.id, SLOT.start) == {first.id, second.id}
        await uow.commit()
    async with uow_factory() as uow:
        due = await uow.waitlist.claim_expired(NOW + timedelta(hours=1), 10)
        assert [o.id for o in due] == [rival.id]
        assert [o.status for o in await uow.waitlist.offers_of(first.id)] == [OfferStatus.DECLINED]
        assert [e.id for e in await uow.waitlist.entries_of(first.id)] == [earlier.id]


async def test_concurrent_handlers_of_events_freeing_one_slot_make_exactly_one_offer(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, worker_engines: list[AsyncEngine]
) -> None:
    (doctor,), (leaver, *waiting) = await _seed(uow_factory, doctors=1, patients=4)
    for n, patient in enumerate(waiting):
        await _join(uow_factory, patient, doctor, minutes_ago=10 - n)
    clock = FixedClock(NOW)
    handlers = [OfferFreedSlot(SqlUnitOfWorkFactory(e), clock, POLICY) for e in worker_engines]
    # Every worker at once, each with an event of its own, plus one event delivered twice.
    freed = [_cancelled(doctor, leaver) for _ in handlers]
    results = await asyncio.gather(
        *(handler(event) for handler, event in zip(handlers, freed, strict=True)),
        handlers[0](freed[1]),
    )

    made = [offer for offer in results if offer is not None]
    assert len(made) == 1
    rows = await _offer_rows(engine)
    assert [(row.patient_id, row.status) for row in rows] == [(waiting[0].id, "offered")]
    assert await _offer_events(engine) == 1


async def test_an_accept_racing_a_direct_booking_of_the_slot_books_it_once(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, worker_engines: list[AsyncEngine]
) -> None:
    (doctor,), (leaver, waiting, walk_in) = await _seed(uow_factory, doctors=1, patients=3)
    await _join(uow_factory, waiting, doctor, minutes_ago=1)
    clock = FixedClock(NOW)
    offer = await OfferFreedSlot(uow_factory, clock, POLICY)(_cancelled(doctor, leaver))
    assert offer is not None

    accepting_engine, booking_engine = worker_engines[:2]
    scheduling = SchedulingPolicy()
    accept_uow = SqlUnitOfWorkFactory(accepting_engine)
    accept = AcceptOffer(accept_uow, clock, POLICY, BookAppointment(accept_uow, clock, scheduling))
    book = BookAppointment(SqlUnitOfWorkFactory(booking_engine), clock, scheduling)
    results = await asyncio.gather(
        accept(Actor(Role.PATIENT, waiting.id), offer.id),
        book(
            BookAppointmentCommand(
                actor=Actor(Role.PATIENT, walk_in.id), doctor_id=doctor.id, starts_at=SLOT.start
            )
        ),
        return_exceptions=True,
    )

    booked = [r for r in results if isinstance(r, Appointment)] + [
        r[1] for r in results if isinstance(r, tuple)
    ]
    conflicts = [r for r in results if isinstance(r, SlotConflict)]
    assert len(booked) == 1 and len(conflicts) == 1, results
    async with uow_factory() as uow:
        occupying = await uow.appointments.busy_slots(doctor.id, SLOT)
        stored = await uow.waitlist.get_offer(offer.id)
    assert occupying == [SLOT]
    assert stored is not None
    if isinstance(results[0], tuple):
        assert stored.status is OfferStatus.BOOKED and stored.appointment_id == booked[0].id
    else:
        assert stored.status is OfferStatus.LAPSED  # the slot was taken: passed on


async def test_concurrent_sweeps_expire_each_offer_once_and_pass_it_on_once(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, worker_engines: list[AsyncEngine]
) -> None:
    doctors, (leaver, first, second) = await _seed(uow_factory, doctors=4, patients=3)
    clock = FixedClock(NOW)
    for doctor in doctors:
        await _join(uow_factory, first, doctor, minutes_ago=10)
        await _join(uow_factory, second, doctor, minutes_ago=5)
        assert await OfferFreedSlot(uow_factory, clock, POLICY)(_cancelled(doctor, leaver))
    clock.set(NOW + POLICY.offer_ttl)
    sweeps = [ExpireWaitlistOffers(SqlUnitOfWorkFactory(e), clock, POLICY) for e in worker_engines]

    counts = await asyncio.gather(*(sweep() for sweep in sweeps))
    # SQLite (or a sweep that met a changed version) may leave some to the next round.
    while sum(counts) < len(doctors):
        counts.append(await sweeps[0]())

    assert sum(counts) == len(doctors)
    rows = await _offer_rows(engine)
    assert sorted((row.patient_id == first.id, row.status) for row in rows) == sorted(
        [(True, "expired")] * len(doctors) + [(False, "offered")] * len(doctors)
    )
    assert await _offer_events(engine) == 2 * len(doctors)


async def _crash_while_accepting(engine: AsyncEngine, offer: WaitlistOffer) -> None:
    """What ``AcceptOffer`` leaves when its process dies after marking the offer
    accepting: the row as its first transaction committed it, nothing after."""
    async with engine.begin() as connection:
        await connection.execute(
            update(WaitlistOfferRow)
            .where(WaitlistOfferRow.id == offer.id)
            .values(status="accepting", expires_at=NOW + POLICY.accept_deadline, version=2)
        )


async def test_the_sweep_settles_acceptances_left_stuck_by_a_dead_process(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    (unbooked, booked), (leaver, first, second) = await _seed(uow_factory, doctors=2, patients=3)
    clock = FixedClock(NOW)
    offers = {}
    for doctor in (unbooked, booked):
        await _join(uow_factory, first, doctor, minutes_ago=10)
        await _join(uow_factory, second, doctor, minutes_ago=5)
        offers[doctor.id] = await OfferFreedSlot(uow_factory, clock, POLICY)(
            _cancelled(doctor, leaver)
        )
    for offer in offers.values():
        assert offer is not None and offer.patient_id == first.id
        await _crash_while_accepting(engine, offer)
    # With ``booked`` the process died after the booking had committed.
    appointment = await BookAppointment(uow_factory, clock, SchedulingPolicy())(
        BookAppointmentCommand(
            actor=Actor(Role.PATIENT, first.id), doctor_id=booked.id, starts_at=SLOT.start
        )
    )
    sweep = ExpireWaitlistOffers(uow_factory, clock, POLICY)

    # Within the deadline the acceptance may still be under way: left alone.
    clock.set(NOW + POLICY.accept_deadline - timedelta(seconds=1))
    assert await sweep() == 0
    assert {row.status for row in await _offer_rows(engine)} == {"accepting"}

    clock.set(NOW + POLICY.accept_deadline)
    assert await sweep() == 2
    rows = await _offer_rows(engine)
    by_doctor = {
        doctor_id: [
            (row.patient_id, row.status, row.appointment_id)
            for row in rows
            if row.doctor_id == doctor_id
        ]
        for doctor_id in (unbooked.id, booked.id)
    }
    # Not booked: lapsed, and the slot passed to the next in line.
    assert by_doctor[unbooked.id] == [(first.id, "lapsed", None), (second.id, "offered", None)]
    # Booked: the offer records its appointment, the entry is done, nobody else is offered.
    assert by_doctor[booked.id] == [(first.id, "booked", appointment.id)]
    async with uow_factory() as uow:
        waiting_doctors = {e.doctor_id for e in await uow.waitlist.entries_of(first.id)}
    assert waiting_doctors == {unbooked.id}
    assert await _offer_events(engine) == 3
    assert await sweep() == 0  # settled once
