"""SendDueReminders (each reminder exactly once) and OutboxRelay.drain (in order,
nothing lost while the bus is down, nothing twice)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from uuid import UUID

import pytest

from hduce.adapters.memory import InMemoryOutbox, InMemoryUnitOfWorkFactory, InProcessEventBus
from hduce.adapters.memory.outbox import InProcessOutboxSignal
from hduce.application.appointments.commands import TransitionCommand
from hduce.application.messaging.outbox_relay import OutboxRelay, RelayBlocked, RelaySettings
from hduce.application.messaging.reminders import SendDueReminders
from hduce.application.ports import OutboxStats, UnitOfWorkFactory
from hduce.domain import events
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.errors import AlreadyExists
from hduce.domain.events import DomainEvent
from tests.unit.adapters.contract import user_registered
from tests.unit.application.support import (
    ALWAYS_OPEN,
    NOW,
    TUESDAY,
    WEDNESDAY,
    Clinic,
    InterleavingUnitOfWorkFactory,
    local,
)

HOUR = timedelta(hours=1)
OFFSETS = (timedelta(hours=24), timedelta(hours=1))

# ------------------------------------------------------------------ reminders

#: When the reminder scheduler runs in these tests: two days after the bookings.
RUN_AT = NOW + timedelta(days=2)


async def approved_visits_ahead(clinic: Clinic, *leads: timedelta) -> list[Appointment]:
    """Approved visits starting ``lead`` after RUN_AT (booked now, by the doctor, who
    for these tests works around the clock so only the reminder timing matters)."""
    doctor = clinic.people.doctor
    await clinic.set_working_hours(doctor.actor, doctor.id, ALWAYS_OPEN)
    visits = [
        await clinic.book("admin", patient="patient", starts_at=RUN_AT + lead, approve=True)
        for lead in leads
    ]
    clinic.clock.set(RUN_AT)
    return visits


def reminders(clinic: Clinic) -> list[tuple[UUID, int]]:
    found: list[tuple[UUID, int]] = []
    for event in clinic.events(events.REMINDER_DUE):
        assert isinstance(event.payload, events.ReminderDue)
        found.append((event.aggregate_id, event.payload.offset_seconds))
    return found


def send_due(clinic: Clinic, factory: UnitOfWorkFactory | None = None) -> SendDueReminders:
    return SendDueReminders(factory or clinic.uow_factory, clinic.clock, OFFSETS)


async def test_only_due_reminders_are_emitted_and_only_the_nearest_one(clinic: Clinic) -> None:
    in_30h, in_20h, in_30min = await approved_visits_ahead(
        clinic, 30 * HOUR, 20 * HOUR, timedelta(minutes=30)
    )

    emitted = await send_due(clinic)()

    assert emitted == 2
    assert sorted(reminders(clinic)) == sorted(
        [(in_20h.id, 24 * 3600), (in_30min.id, 3600)]  # not the 24 h one for in_30min
    )
    assert in_30h.id not in {appointment_id for appointment_id, _ in reminders(clinic)}
    [event] = [e for e in clinic.events(events.REMINDER_DUE) if e.aggregate_id == in_30min.id]
    assert event.payload == events.ReminderDue(
        appointment_id=in_30min.id,
        patient_id=clinic.people.patient.id,
        doctor_id=clinic.people.doctor.id,
        starts_at=in_30min.starts_at,
        ends_at=in_30min.ends_at,
        offset_seconds=3600,
        status=AppointmentStatus.APPROVED,
    )
    assert event.occurred_at == RUN_AT


async def test_running_twice_emits_nothing_more(clinic: Clinic) -> None:
    await approved_visits_ahead(clinic, 30 * HOUR, 20 * HOUR, timedelta(minutes=30))
    await send_due(clinic)()
    before = clinic.snapshot()

    assert await send_due(clinic)() == 0

    assert clinic.snapshot().outbox == before.outbox


async def test_later_runs_send_the_reminders_that_fall_due_later(clinic: Clinic) -> None:
    in_30h, in_20h, _ = await approved_visits_ahead(
        clinic, 30 * HOUR, 20 * HOUR, timedelta(minutes=30)
    )
    await send_due(clinic)()

    clinic.clock.advance(hours=6, minutes=1)  # in_30h is 23 h 59 min away

    assert await send_due(clinic)() == 1
    assert reminders(clinic)[-1] == (in_30h.id, 24 * 3600)

    clinic.clock.advance(hours=13, minutes=29)  # in_20h is 30 min away, in_30h 10.5 h

    assert await send_due(clinic)() == 1
    assert reminders(clinic)[-1] == (in_20h.id, 3600)
    assert len(reminders(clinic)) == 4


async def test_two_concurrent_runs_emit_each_reminder_once(clinic: Clinic) -> None:
    _, in_20h, in_30min = await approved_visits_ahead(
        clinic, 30 * HOUR, 20 * HOUR, timedelta(minutes=30)
    )
    # Both runs read the same list of upcoming visits before either claims anything.
    factory = InterleavingUnitOfWorkFactory(
        clinic.uow_factory, "appointments.approved_starting_between"
    )

    counts = await asyncio.gather(send_due(clinic, factory)(), send_due(clinic, factory)())

    assert sorted(counts) == [0, 2]
    assert sorted(reminders(clinic)) == sorted([(in_20h.id, 24 * 3600), (in_30min.id, 3600)])


async def test_runs_claiming_the_same_reminder_at_once_still_emit_it_once(
    clinic: Clinic,
) -> None:
    _, in_20h, in_30min = await approved_visits_ahead(
        clinic, 30 * HOUR, 20 * HOUR, timedelta(minutes=30)
    )
    # Both runs claim in the inbox before either commits: the store refuses the
    # second commit (as a unique key would) and that run stops; the first one sends.
    factory = InterleavingUnitOfWorkFactory(clinic.uow_factory, "processed_events.first_time")

    results = await asyncio.gather(
        send_due(clinic, factory)(), send_due(clinic, factory)(), return_exceptions=True
    )

    assert 2 in results
    assert all(r == 2 or isinstance(r, AlreadyExists) for r in results)
    assert sorted(reminders(clinic)) == sorted([(in_20h.id, 24 * 3600), (in_30min.id, 3600)])


async def test_a_reminder_becomes_a_notification_for_the_patient(clinic: Clinic) -> None:
    [visit] = await approved_visits_ahead(clinic, timedelta(minutes=30))
    await send_due(clinic)()
    [reminder] = clinic.events(events.REMINDER_DUE)

    stored = await clinic.handle_notifications(reminder)

    assert {n.recipient_id for n in stored} == {clinic.people.patient.id}
    assert {n.title for n in stored} == {"Appointment reminder"}
    assert {n.metadata["appointment_id"] for n in stored} == {str(visit.id)}


async def test_cancelled_visits_get_no_reminder(clinic: Clinic) -> None:
    [visit] = await approved_visits_ahead(clinic, 20 * HOUR)
    await clinic.cancel(TransitionCommand(clinic.actor("doctor"), visit.id, reason="ill"))

    assert await send_due(clinic)() == 0


def test_offsets_must_be_positive(clinic: Clinic) -> None:
    with pytest.raises(ValueError, match="positive"):
        SendDueReminders(clinic.uow_factory, clinic.clock, (timedelta(0),))


async def test_no_offsets_means_no_reminders_and_no_error(clinic: Clinic) -> None:
    """HDUCE_REMINDER_OFFSETS=none: the sweep runs every tick and sends nothing."""
    await approved_visits_ahead(clinic, 30 * timedelta(minutes=1), 20 * HOUR)
    sweep = SendDueReminders(clinic.uow_factory, clinic.clock, ())

    assert await sweep() == 0
    assert await sweep() == 0
    assert reminders(clinic) == []


# ------------------------------------------------------------------ outbox relay


class Subscriber:
    """Records what reached it; can be told to fail (the broker is down)."""

    def __init__(self) -> None:
        self.received: list[DomainEvent] = []
        self.down = False

    async def __call__(self, event: DomainEvent) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.received.append(event)


class BreakingPublisher:
    """The real in-process bus behind a link that breaks after ``healthy_for`` events."""

    def __init__(self, bus: InProcessEventBus, healthy_for: int) -> None:
        self._bus = bus
        self.healthy_for = healthy_for

    async def publish(self, event: DomainEvent) -> None:
        if self.healthy_for <= 0:
            raise ConnectionError("broker unreachable")
        self.healthy_for -= 1
        await self._bus.publish(event)


async def five_bookings(clinic: Clinic) -> list[DomainEvent]:
    for hhmm in ("09:00", "09:30", "10:00"):
        await clinic.book("patient", starts_at=local(TUESDAY, hhmm))
    for hhmm in ("09:00", "09:30"):
        await clinic.book("other_patient", starts_at=local(WEDNESDAY, hhmm))
    outbox = clinic.events()
    assert len(outbox) == 5
    return outbox


@pytest.fixture
def bus() -> InProcessEventBus:
    return InProcessEventBus(max_attempts=1, retry_delay_seconds=0)


async def test_the_relay_delivers_every_event_in_commit_order(
    clinic: Clinic, bus: InProcessEventBus
) -> None:
    outbox = await five_bookings(clinic)
    subscriber = Subscriber()
    bus.subscribe(subscriber)
    relay = OutboxRelay(
        InMemoryOutbox(clinic.store, clinic.clock), bus, clinic.clock, RelaySettings(batch_size=2)
    )

    assert await relay.drain() == 5

    assert [e.id for e in subscriber.received] == [e.id for e in outbox]
    assert clinic.store.outbox_events(unpublished_only=True) == []
    assert (await relay.stats()).backlog == 0
    assert await relay.drain() == 0


async def test_a_failing_publisher_blocks_the_relay_and_keeps_the_events(
    clinic: Clinic, bus: InProcessEventBus
) -> None:
    outbox = await five_bookings(clinic)
    subscriber = Subscriber()
    bus.subscribe(subscriber)
    publisher = BreakingPublisher(bus, healthy_for=2)
    relay = OutboxRelay(InMemoryOutbox(clinic.store, clinic.clock), publisher, clinic.clock)

    with pytest.raises(RelayBlocked) as blocked:
        await relay.drain()

    assert blocked.value.published == 2
    assert clinic.store.outbox_events(unpublished_only=True) == outbox[2:]
    clinic.clock.advance(seconds=30)
    assert await relay.stats() == OutboxStats(backlog=3, oldest_age_seconds=30.0)
    with pytest.raises(RelayBlocked):
        await relay.drain()  # still down: nothing moves, nothing is lost

    publisher.healthy_for = 100  # the broker is back
    assert await relay.drain() == 3

    assert [e.id for e in subscriber.received] == [e.id for e in outbox]  # in order, none twice
    assert clinic.store.outbox_events(unpublished_only=True) == []


async def test_a_consumer_failure_propagated_by_the_bus_blocks_the_relay_too(
    clinic: Clinic,
) -> None:
    outbox = await five_bookings(clinic)
    bus = InProcessEventBus(max_attempts=1, retry_delay_seconds=0, propagate_errors=True)
    subscriber = Subscriber()
    bus.subscribe(subscriber)
    relay = OutboxRelay(InMemoryOutbox(clinic.store, clinic.clock), bus, clinic.clock)
    subscriber.down = True

    with pytest.raises(RelayBlocked):
        await relay.drain()

    assert clinic.store.outbox_events(unpublished_only=True) == outbox
    subscriber.down = False
    assert await relay.drain() == 5
    assert [e.id for e in subscriber.received] == [e.id for e in outbox]


# ------------------------------------------------------------------ waking the relay


async def test_a_commit_wakes_the_relay_long_before_its_poll(
    clinic: Clinic, bus: InProcessEventBus
) -> None:
    signal = InProcessOutboxSignal()
    uow_factory = InMemoryUnitOfWorkFactory(clinic.store, clinic.clock, outbox_signal=signal)
    arrived = asyncio.Event()

    async def subscriber(event: DomainEvent) -> None:
        arrived.set()

    bus.subscribe(subscriber)
    relay = OutboxRelay(
        InMemoryOutbox(clinic.store, clinic.clock),
        bus,
        clinic.clock,
        RelaySettings(poll_interval=10),
    )
    signal.listen(relay.wake)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.05)  # drained the empty outbox; now waiting for 10 s
        async with uow_factory() as uow:
            uow.emit(user_registered(1))
            await uow.commit()
        await asyncio.wait_for(arrived.wait(), 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_commit_during_a_drain_is_not_missed(clinic: Clinic) -> None:
    """Committed while the relay publishes the batch before it: the wake must not be
    wiped out when that drain ends, or the event waits for the next poll."""
    signal = InProcessOutboxSignal()
    uow_factory = InMemoryUnitOfWorkFactory(clinic.store, clinic.clock, outbox_signal=signal)
    published: list[DomainEvent] = []
    both = asyncio.Event()

    class CommittingMeanwhile:
        async def publish(self, event: DomainEvent) -> None:
            published.append(event)
            if len(published) == 2:
                both.set()
            if len(published) == 1:
                async with uow_factory() as uow:
                    uow.emit(user_registered(2))
                    await uow.commit()

    relay = OutboxRelay(
        InMemoryOutbox(clinic.store, clinic.clock),
        CommittingMeanwhile(),
        clinic.clock,
        RelaySettings(poll_interval=10),
    )
    signal.listen(relay.wake)
    async with uow_factory() as uow:
        uow.emit(user_registered(1))
        await uow.commit()
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(both.wait(), 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_the_signal_tells_other_processes_only_while_no_relay_of_its_own_listens() -> None:
    told: list[str] = []
    signal = InProcessOutboxSignal(otherwise=lambda: told.append("others"))
    signal.notify()  # ``hduce api``: no relay here
    assert told == ["others"]
    stop = signal.listen(lambda: told.append("own relay"))
    signal.notify()  # ``hduce serve``/``worker``: its relay listens
    assert told == ["others", "own relay"]
    stop()
    signal.notify()
    assert told == ["others", "own relay", "others"]
