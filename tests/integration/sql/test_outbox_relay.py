"""The SQL outbox beyond the port contract: many relays at once, failure bookkeeping,
a relay dying mid-batch, exact backlog age, retention."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.events_codec import event_to_dict
from hduce.adapters.sql import SqlOutbox, SqlUnitOfWorkFactory
from hduce.adapters.sql.models import AuditRow, OutboxRow
from hduce.domain.audit import AuditEntry
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from tests.fakes import FixedClock
from tests.unit.adapters.contract import NOW, Recorder, drain, user_registered
from tests.unit.domain.builders import book


async def _emit(uow_factory: SqlUnitOfWorkFactory, count: int, per_commit: int = 7) -> list[UUID]:
    emitted: list[DomainEvent] = [user_registered(n) for n in range(1, count + 1)]
    for first in range(0, count, per_commit):
        async with uow_factory() as uow:
            for event in emitted[first : first + per_commit]:
                uow.emit(event)
            await uow.commit()
    return [event.id for event in emitted]


async def _rows(engine: AsyncEngine) -> list[tuple[UUID, int, str | None, bool]]:
    async with engine.connect() as connection:
        result = await connection.execute(
            select(
                OutboxRow.id,
                OutboxRow.attempts,
                OutboxRow.last_error,
                OutboxRow.published_at.is_not(None),
            ).order_by(OutboxRow.sequence)
        )
        return [tuple(row) for row in result]  # type: ignore[misc]


async def test_many_relays_publish_every_event_exactly_once(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    emitted = await _emit(uow_factory, 120)
    published: Counter[UUID] = Counter()

    async def publish(event: DomainEvent) -> None:
        await asyncio.sleep(0)  # let the other relays run between two events
        published[event.id] += 1

    async def relay() -> None:
        outbox = SqlOutbox(engine)  # one per worker, sharing only the database
        while (await outbox.relay_batch(10, publish)).published:
            pass

    await asyncio.gather(*(relay() for _ in range(4)))
    assert set(published) == set(emitted)
    assert set(published.values()) == {1}
    assert (await SqlOutbox(engine).stats(NOW)).backlog == 0


async def test_failures_are_recorded_and_order_resumes_after_recovery(
    uow_factory: SqlUnitOfWorkFactory, outbox: SqlOutbox, engine: AsyncEngine
) -> None:
    emitted = await _emit(uow_factory, 6)
    first_try = await outbox.relay_batch(10, Recorder(fail_on=3))
    second_try = await outbox.relay_batch(10, Recorder(fail_on=1))
    assert (first_try.published, first_try.failed) == (2, True)
    assert (second_try.published, second_try.failed) == (0, True)
    rows = await _rows(engine)
    assert [published for *_, published in rows] == [True, True, False, False, False, False]
    failed_id, attempts, last_error, _ = rows[2]
    assert failed_id == emitted[2]
    assert attempts == 2
    assert last_error == "ConnectionError: broker down"
    assert all(attempts == 0 for _, attempts, _, _ in rows[3:])

    recovered = await drain(outbox)
    assert [event.id for event in recovered] == emitted[2:]
    assert all(published for *_, published in await _rows(engine))


async def test_a_relay_dying_mid_batch_loses_nothing(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    emitted = await _emit(uow_factory, 5)
    delivered: list[UUID] = []
    stuck = asyncio.Event()

    async def publish_then_hang(event: DomainEvent) -> None:
        delivered.append(event.id)
        if len(delivered) == 2:
            stuck.set()
            await asyncio.sleep(3600)

    dying = asyncio.create_task(SqlOutbox(engine).relay_batch(10, publish_then_hang))
    await asyncio.wait_for(stuck.wait(), timeout=10)
    dying.cancel()  # the worker is killed while the broker call hangs
    await asyncio.gather(dying, return_exceptions=True)

    if engine.dialect.name == "sqlite":
        # What the dead relay published is marked; the rest stays leased to it until
        # its lease (2 minutes) runs out. (PostgreSQL: the row locks and the marks died
        # with its transaction; everything is free again at once.)
        assert await drain(SqlOutbox(engine)) == []
    three_minutes_later = FixedClock(datetime.now(UTC) + timedelta(minutes=3))
    retried = await drain(SqlOutbox(engine, clock=three_minutes_later))
    # At least once: nothing is lost; on PostgreSQL the two already sent go again.
    assert set(delivered) | {event.id for event in retried} == set(emitted)
    assert (await SqlOutbox(engine).stats(NOW)).backlog == 0


async def test_stats_measure_the_oldest_unpublished_event(
    uow_factory: SqlUnitOfWorkFactory, outbox: SqlOutbox
) -> None:
    await _emit(uow_factory, 3)  # occurred at NOW + 1 s, + 2 s, + 3 s
    stats = await outbox.stats(NOW + timedelta(seconds=91))
    assert (stats.backlog, stats.oldest_age_seconds) == (3, 90.0)
    await outbox.relay_batch(1, Recorder())
    stats = await outbox.stats(NOW + timedelta(seconds=91))
    assert (stats.backlog, stats.oldest_age_seconds) == (2, 89.0)
    # A clock behind the events never reports a negative age.
    assert (await outbox.stats(NOW)).oldest_age_seconds == 0.0


async def test_purge_deletes_only_published_rows(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    outbox = SqlOutbox(engine, clock=FixedClock(NOW))
    emitted = await _emit(uow_factory, 4)
    await outbox.relay_batch(3, Recorder())
    assert await outbox.purge_published(before=NOW) == 0  # published at NOW exactly
    assert await outbox.purge_published(before=NOW + timedelta(seconds=1)) == 3
    assert [row_id for row_id, *_ in await _rows(engine)] == emitted[3:]


async def test_rows_hold_the_events_wire_format(
    uow_factory: SqlUnitOfWorkFactory, outbox: SqlOutbox, engine: AsyncEngine
) -> None:
    appointment = book(by="patient")
    [requested] = appointment.collect_events()
    registered = user_registered(1)
    async with uow_factory() as uow:
        uow.emit(requested)
        uow.emit(registered)
        await uow.commit()
    async with engine.connect() as connection:
        stored = (await connection.execute(select(OutboxRow.payload))).scalars().all()
    assert list(stored) == [event_to_dict(requested), event_to_dict(registered)]
    assert await drain(outbox) == [requested, registered]  # typed payloads come back equal


async def test_events_and_audit_entries_of_one_commit_are_all_stored_in_order(
    uow_factory: SqlUnitOfWorkFactory, outbox: SqlOutbox, engine: AsyncEngine
) -> None:
    # PostgreSQL writes them in one statement built once per number of rows: three
    # events and two entries, then one and one, must each land with their own values.
    admin = Actor(Role.ADMIN, uuid7())
    first = [user_registered(n) for n in (1, 2, 3)]
    async with uow_factory() as uow:
        for event in first:
            uow.emit(event)
        await uow.audit.add(AuditEntry.of(admin, NOW, "user.registered", "user", 1, n=1))
        await uow.audit.add(AuditEntry.of(admin, NOW, "user.renamed", "user", 2, n=2))
        await uow.commit()
    second = user_registered(4)
    async with uow_factory() as uow:
        uow.emit(second)
        await uow.audit.add(AuditEntry.of(admin, NOW, "user.deactivated", "user", 4))
        await uow.commit()
    assert await drain(outbox) == [*first, second]
    async with engine.connect() as connection:
        audit = (
            await connection.execute(
                select(AuditRow.action, AuditRow.target_id, AuditRow.details).order_by(
                    AuditRow.target_id
                )
            )
        ).all()
    assert [tuple(row) for row in audit] == [
        ("user.registered", "1", {"n": 1}),
        ("user.renamed", "2", {"n": 2}),
        ("user.deactivated", "4", {}),
    ]


async def test_a_row_that_does_not_decode_stops_the_relay_loudly(
    uow_factory: SqlUnitOfWorkFactory, outbox: SqlOutbox, engine: AsyncEngine
) -> None:
    emitted = await _emit(uow_factory, 3)
    async with engine.begin() as connection:
        [row] = (
            await connection.execute(select(OutboxRow.payload).where(OutboxRow.id == emitted[1]))
        ).all()
        teleported = row.payload | {"type": "appointment.teleported"}
        await connection.execute(
            update(OutboxRow).where(OutboxRow.id == emitted[1]).values(payload=teleported)
        )
    recorder = Recorder()
    result = await outbox.relay_batch(10, recorder)
    assert (result.published, result.failed) == (1, True)
    assert [event.id for event in recorder.events] == emitted[:1]
    _, attempts, last_error, published = (await _rows(engine))[1]
    assert (attempts, published) == (1, False)
    assert last_error == (
        f"MalformedEvent: event {emitted[1]}: unknown event type 'appointment.teleported'"
    )


async def test_postgresql_publishes_a_batch_concurrently_one_aggregate_in_order(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    outbox = SqlOutbox(engine, publish_concurrently=True)  # as with a broker
    aggregate = uuid7()
    own = [user_registered(n, aggregate_id=aggregate) for n in (1, 2, 3)]
    others = [user_registered(n) for n in range(4, 10)]
    async with uow_factory() as uow:
        for event in own + others:
            uow.emit(event)
        await uow.commit()
    in_flight: set[UUID] = set()
    most = 0
    overlapped_own = False
    order: list[UUID] = []

    async def publish(event: DomainEvent) -> None:
        nonlocal most, overlapped_own
        overlapped_own |= event.aggregate_id == aggregate and any(
            e.aggregate_id == aggregate for e in own if e.id in in_flight
        )
        in_flight.add(event.id)
        most = max(most, len(in_flight))
        await asyncio.sleep(0.01)  # a broker confirm's round trip
        in_flight.discard(event.id)
        order.append(event.id)

    result = await outbox.relay_batch(100, publish)
    assert (result.published, result.failed) == (9, False)
    assert (await outbox.stats(NOW)).backlog == 0
    # SQLite publishes one at a time; PostgreSQL has every aggregate's chain in flight.
    assert most == (1 if engine.dialect.name == "sqlite" else 7)
    assert not overlapped_own
    assert [i for i in order if i in {e.id for e in own}] == [e.id for e in own]
