"""What the in-memory store does beyond the shared contract: copies, locking, commit checks."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

import pytest

from hduce.adapters.memory import (
    InMemoryOutbox,
    InMemoryStore,
    InMemoryUnitOfWorkFactory,
)
from hduce.application.ports import AppointmentQuery, PageRequest, UserQuery
from hduce.domain import events
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.errors import AlreadyExists, NotFound, SlotConflict, StaleVersion
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel
from hduce.domain.scheduling import ExtraHours, LocalInterval, TimeOff, TimeSlot
from tests.fakes import FixedClock, SequentialIdGenerator
from tests.unit.adapters.contract import (
    NOW,
    book,
    cancel,
    drain,
    new_doctor,
    new_notification,
    new_specialty,
    new_user,
    seed_clinic,
    slot,
    store_appointments,
    user_registered,
)

S = AppointmentStatus


async def test_objects_passed_in_are_copied(uow_factory: InMemoryUnitOfWorkFactory) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    async with uow_factory() as uow:
        await uow.appointments.add(appointment)
        appointment.reason = "changed behind the store's back"
        appointment.history.clear()
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.appointments.get(appointment.id)
    assert stored is not None
    assert stored.reason == "check-up"
    assert len(stored.history) == 1


async def test_the_store_keeps_no_pending_events(
    uow_factory: InMemoryUnitOfWorkFactory, store: InMemoryStore
) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    await store_appointments(uow_factory, appointment)
    assert store.appointments[appointment.id].pending_events == []
    assert appointment.pending_events == []  # collected by the commit
    assert [e.type for e in store.outbox_events()] == [events.APPOINTMENT_REQUESTED]


async def test_events_recorded_after_save_are_collected_at_commit(
    uow_factory: InMemoryUnitOfWorkFactory, store: InMemoryStore
) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    async with uow_factory() as uow:
        await uow.appointments.add(appointment)
        listed = await uow.appointments.list(AppointmentQuery())
        loaded = listed.items[0]
        cancel(loaded, clinic)
        await uow.appointments.save(loaded, expected_version=1)
        await uow.commit()
    assert [e.type for e in store.outbox_events()] == [
        events.APPOINTMENT_REQUESTED,
        events.APPOINTMENT_CANCELLED,
    ]


async def test_a_failed_commit_applies_nothing(
    uow_factory: InMemoryUnitOfWorkFactory, store: InMemoryStore
) -> None:
    clinic = await seed_clinic(uow_factory)
    first = book(clinic, slot(0))
    second = book(clinic, slot(0), patient=clinic.other_patient)
    bystander = new_user("Innocent Bystander")
    async with uow_factory() as loser:
        await loser.users.add(bystander)
        await loser.appointments.add(second)  # no conflict yet: ``first`` is not committed
        loser.emit(user_registered())
        await store_appointments(uow_factory, first)
        with pytest.raises(SlotConflict) as refused:
            await loser.commit()
    assert refused.value.conflicting_ids == (first.id,)
    assert bystander.id not in store.users
    assert second.id not in store.appointments
    assert [e.aggregate_id for e in store.outbox_events()] == [first.id]
    assert len(second.pending_events) == 1  # not drained by the failed commit


async def test_a_read_only_unit_reads_but_refuses_to_commit(
    uow_factory: InMemoryUnitOfWorkFactory, store: InMemoryStore
) -> None:
    clinic = await seed_clinic(uow_factory)
    stranger = new_user("Never Stored")
    async with uow_factory(read_only=True) as uow:
        assert await uow.users.get(clinic.patient.id) is not None
        await uow.users.add(stranger)
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.commit()
    assert stranger.id not in store.users


async def test_stale_version_is_caught_at_commit_too(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    await store_appointments(uow_factory, appointment)
    async with uow_factory() as late:
        mine = await late.appointments.get(appointment.id)
        assert mine is not None
        mine.reject(actor=clinic.admin_actor, now=NOW, reason="full")
        await late.appointments.save(mine, expected_version=1)  # fine so far
        async with uow_factory() as early:
            theirs = await early.appointments.get(appointment.id)
            assert theirs is not None
            theirs.approve(actor=clinic.admin_actor, now=NOW, existing=())
            await early.appointments.save(theirs, expected_version=1)
            await early.commit()
        with pytest.raises(StaleVersion) as stale:
            await late.commit()
    assert (stale.value.expected, stale.value.actual) == (1, 2)


async def test_two_saves_in_one_unit_check_against_the_first_version(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    appointment = book(clinic, slot(0))
    await store_appointments(uow_factory, appointment)
    async with uow_factory() as uow:
        loaded = await uow.appointments.get(appointment.id)
        assert loaded is not None
        loaded.approve(actor=clinic.admin_actor, now=NOW, existing=())
        await uow.appointments.save(loaded, expected_version=1)
        cancel(loaded, clinic)
        with pytest.raises(StaleVersion):
            await uow.appointments.save(loaded, expected_version=1)
        await uow.appointments.save(loaded, expected_version=2)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.appointments.get(appointment.id)
    assert stored is not None and (stored.status, stored.version) == (S.CANCELLED, 3)


async def test_a_serialized_unit_excludes_other_writers_until_it_ends(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    steps: list[str] = []

    async def holder() -> None:
        async with uow_factory(serialized=True) as uow:
            steps.append("holder in")
            await uow.users.add(new_user("Holder One"))
            await asyncio.sleep(0.02)
            await uow.commit()
            await asyncio.sleep(0.02)
            steps.append("holder out")

    async def serialized_writer() -> None:
        await asyncio.sleep(0.005)
        async with uow_factory(serialized=True) as uow:
            steps.append("serialized in")
            await uow.commit()

    async def plain_writer() -> None:
        await asyncio.sleep(0.005)
        async with uow_factory() as uow:
            # reads never wait
            steps.append(f"plain read {(await uow.users.list(UserQuery())).total}")
            await uow.users.add(new_user("Plain Two"))
            await uow.commit()
            steps.append("plain committed")

    await asyncio.gather(holder(), serialized_writer(), plain_writer())
    assert steps[:2] == ["holder in", "plain read 0"]
    assert steps.index("holder out") < steps.index("serialized in")
    assert steps.index("holder out") < steps.index("plain committed")


async def test_nested_serialized_unit_in_one_task_refuses_instead_of_deadlocking(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    async with uow_factory(serialized=True):
        with pytest.raises(RuntimeError, match="deadlock"):
            async with uow_factory(serialized=True):
                pass
        async with uow_factory() as plain:
            await plain.users.add(new_user())
            with pytest.raises(RuntimeError, match="deadlock"):
                await plain.commit()
    async with uow_factory(serialized=True) as again:  # the lock was released
        await again.commit()


async def test_misuse_is_reported(uow_factory: InMemoryUnitOfWorkFactory) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError):
        await uow.commit()
    async with uow:
        with pytest.raises(RuntimeError):
            await uow.__aenter__()


async def test_references_are_checked(uow_factory: InMemoryUnitOfWorkFactory) -> None:
    clinic = await seed_clinic(uow_factory)
    stranger = new_user("Not Stored")
    async with uow_factory() as uow:
        with pytest.raises(NotFound):
            await uow.doctors.add(new_doctor(stranger, clinic.specialty))
        await uow.users.add(stranger)
        with pytest.raises(NotFound):
            await uow.doctors.add(new_doctor(stranger, new_specialty("Unknown")))
        with pytest.raises(NotFound):
            await uow.appointments.add(book(clinic, slot(0), patient=new_user("Ghost")))
        with pytest.raises(NotFound):
            await uow.notifications.add(new_notification(new_user("Ghost Two")))
        with pytest.raises(NotFound):
            await uow.availability.add_time_off(stranger.id, TimeOff(slot(0)))


async def test_saving_what_was_never_added_is_not_found(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(NotFound):
            await uow.users.save(new_user())
        with pytest.raises(NotFound):
            await uow.specialties.save(new_specialty("Nowhere"))
        with pytest.raises(NotFound):
            await uow.appointments.save(book(clinic, slot(0)), expected_version=1)
        with pytest.raises(NotFound):
            await uow.notifications.save(new_notification(clinic.patient))


async def test_duplicate_ids_and_google_subjects(uow_factory: InMemoryUnitOfWorkFactory) -> None:
    user = new_user(google_subject="sub-1")
    async with uow_factory() as uow:
        await uow.users.add(user)
        with pytest.raises(AlreadyExists):
            await uow.users.add(user)
        with pytest.raises(AlreadyExists):
            await uow.users.add(new_user(google_subject="sub-1"))


async def test_concurrent_first_time_loses_at_commit(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    event = user_registered()
    async with uow_factory() as first, uow_factory() as second:
        assert await first.processed_events.first_time("notifier", event.id)
        assert await second.processed_events.first_time("notifier", event.id)
        await first.commit()
        with pytest.raises(AlreadyExists):
            await second.commit()


async def test_a_claim_or_record_another_unit_overtook_loses_at_commit(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    """Claims belong in serialized units; outside one, a lost race is still refused."""
    clinic = await seed_clinic(uow_factory)
    email = new_notification(clinic.patient, channel=Channel.EMAIL)
    async with uow_factory() as uow:
        await uow.notifications.add(email)
        await uow.commit()
    lease = timedelta(minutes=5)
    first_owner, second_owner = uuid7(), uuid7()
    async with uow_factory() as first, uow_factory() as second:
        [mine] = await first.notifications.claim_pending(
            owner=first_owner, now=NOW, lease=lease, limit=1
        )
        [theirs] = await second.notifications.claim_pending(
            owner=second_owner, now=NOW, lease=lease, limit=1
        )
        await first.commit()
        with pytest.raises(AlreadyExists, match="claimed by another worker"):
            await second.commit()
    # The first claim expired and another unit took the row over before this record.
    async with uow_factory() as late, uow_factory() as taker:
        mine.mark_sent(NOW + lease)
        assert await late.notifications.record_delivery(mine, owner=first_owner)
        assert await taker.notifications.claim_pending(
            owner=second_owner, now=NOW + lease, lease=lease, limit=1
        )
        await taker.commit()
        with pytest.raises(AlreadyExists, match="claimed by another worker"):
            await late.commit()
    async with uow_factory() as uow:
        stored = await uow.notifications.get(email.id)
    assert stored is not None
    assert (stored.claimed_by, stored.attempts) == (second_owner, 2)
    assert theirs.claimed_by == second_owner


async def test_deleting_a_row_added_in_the_same_unit(
    uow_factory: InMemoryUnitOfWorkFactory, store: InMemoryStore
) -> None:
    clinic = await seed_clinic(uow_factory)
    notification = new_notification(clinic.patient)
    async with uow_factory() as uow:
        await uow.notifications.add(notification)
        await uow.notifications.delete(notification.id)
        await uow.commit()
    assert store.notifications == {}


async def test_ids_of_availability_rows_come_from_the_generator(
    store: InMemoryStore, clock: FixedClock
) -> None:
    factory = InMemoryUnitOfWorkFactory(store, clock, SequentialIdGenerator(100))
    clinic = await seed_clinic(factory)
    async with factory() as uow:
        first = await uow.availability.add_time_off(clinic.doctor.id, TimeOff(slot(0), "x"))
        second = await uow.availability.add_extra_hours(
            clinic.doctor.id,
            ExtraHours(NOW.date(), LocalInterval(time(9), time(12))),
        )
    assert (first.int, second.int) == (100, 101)


async def test_pages_tolerate_odd_requests(uow_factory: InMemoryUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for n in range(3):
            await uow.users.add(new_user(f"User{n} Test"))
        beyond = await uow.users.list(UserQuery(page=PageRequest(limit=10, offset=10)))
        negative = await uow.users.list(UserQuery(page=PageRequest(limit=-1, offset=-5)))
    assert (list(beyond.items), beyond.total) == ([], 3)
    assert (list(negative.items), negative.total) == ([], 3)


async def test_outbox_rows_are_stamped_by_the_clock_and_pruned(clock: FixedClock) -> None:
    store = InMemoryStore(outbox_retention=2)
    factory = InMemoryUnitOfWorkFactory(store, clock)
    outbox = InMemoryOutbox(store, clock)
    emitted = [user_registered(n) for n in range(5)]
    for event in emitted:
        async with factory() as uow:
            uow.emit(event)
            await uow.commit()
        clock.advance(seconds=10)
    stats = await outbox.stats(clock.now())
    assert (stats.backlog, stats.oldest_age_seconds) == (5, 50.0)
    assert await outbox.relay_batch(3, _ignore) is not None
    assert [row.seq for row in store.outbox] == [2, 3, 4, 5]  # 2 published kept, then backlog
    assert store.outbox[0].published_at == clock.now()
    published = await drain(outbox)
    assert published == emitted[3:]
    assert [row.seq for row in store.outbox] == [4, 5]
    assert len(store.outbox_events(unpublished_only=True)) == 0
    assert (await outbox.stats(clock.now() + timedelta(hours=1))).backlog == 0


async def _ignore(event: object) -> None:
    return None


async def test_slot_boundaries_use_half_open_intervals(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    await store_appointments(uow_factory, book(clinic, slot(0)))
    async with uow_factory() as uow:
        touching = await uow.appointments.occupying_overlapping(
            TimeSlot(slot(30).start, slot(60).start),
            doctor_id=clinic.doctor.id,
            patient_id=clinic.patient.id,
        )
    assert list(touching) == []
