"""Commit to relay without waiting for the poll: a unit of work that committed events
rings the outbox signal (both databases), and on PostgreSQL its ``NOTIFY`` reaches the
LISTEN connection of another process, which rings that process's signal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.memory.outbox import InProcessOutboxSignal
from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine
from hduce.adapters.sql.outbox_listener import PostgresOutboxListener
from tests.unit.adapters.contract import user_registered


class Rings:
    def __init__(self) -> None:
        self.count = 0
        self.rang = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.rang.set()

    async def wait(self, timeout: float = 2.0) -> None:
        await asyncio.wait_for(self.rang.wait(), timeout)
        self.rang.clear()


async def test_a_commit_with_events_rings_the_signal(engine: AsyncEngine) -> None:
    signal, rings = InProcessOutboxSignal(), Rings()
    signal.listen(rings)
    uow_factory = SqlUnitOfWorkFactory(engine, outbox_signal=signal)
    async with uow_factory() as uow:
        uow.emit(user_registered(1))
        assert rings.count == 0  # not before the commit
        await uow.commit()
    assert rings.count == 1
    async with uow_factory() as uow:
        await uow.commit()  # no events: nothing to relay
    async with uow_factory() as uow:
        uow.emit(user_registered(2))  # rolled back
    assert rings.count == 1


@contextlib.asynccontextmanager
async def listening(
    url: str, signal: InProcessOutboxSignal
) -> AsyncIterator[PostgresOutboxListener]:
    """A listener as a worker process runs it, on an engine of its own."""
    engine = create_engine(url)
    listener = PostgresOutboxListener(engine, signal, health_seconds=0.5, retry_seconds=0.1)
    task = asyncio.create_task(listener.run())
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        yield listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.dispose()


async def test_another_process_commit_wakes_the_listener(
    engine: AsyncEngine, migrated_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        listener = PostgresOutboxListener(engine, InProcessOutboxSignal())
        await asyncio.wait_for(listener.run(), 1)  # nothing to listen to on SQLite
        return
    worker_signal, rings = InProcessOutboxSignal(), Rings()
    worker_signal.listen(rings)
    api = SqlUnitOfWorkFactory(engine)  # the API process: no local relay to wake
    async with listening(migrated_url, worker_signal):
        await rings.wait()  # once on connecting, for what nobody listened to
        async with api() as uow:
            uow.emit(user_registered(1))
            uow.emit(user_registered(2))
            await uow.commit()
        await rings.wait()
        async with api() as uow:
            uow.emit(user_registered(3))  # rolled back: no notification
        await asyncio.sleep(0.3)
        assert not rings.rang.is_set()

        # The LISTEN connection dies: the listener comes back and rings again.
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'hduce-outbox-listener' AND datname = current_database()"
                )
            )
        await rings.wait(timeout=10)
        async with api() as uow:
            uow.emit(user_registered(4))
            await uow.commit()
        await rings.wait()
