"""Commit to relay without waiting for the poll: a unit of work that committed events
rings the outbox signal (both databases). On PostgreSQL a process without a relay of
its own notifies after the commit, and the ``NOTIFY`` reaches the LISTEN connection of
another process, which rings that process's signal; a process with a relay wakes it
in process and notifies nobody."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.memory.outbox import InProcessOutboxSignal
from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.adapters.sql.outbox_listener import PostgresOutboxListener
from hduce.adapters.sql.outbox_notifier import PostgresOutboxNotifier
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
    notifier = PostgresOutboxNotifier(engine, retry_seconds=0.1)
    api_signal = InProcessOutboxSignal(otherwise=notifier.notify)  # no relay of its own
    api = SqlUnitOfWorkFactory(engine, outbox_signal=api_signal)
    async with listening(migrated_url, worker_signal), contextlib.aclosing(notifier):
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


@pytest.fixture
async def postgres_migrated(postgres_database: str) -> str:
    await upgrade_database(postgres_database)
    return postgres_database


@pytest.fixture
async def postgres_engine(postgres_migrated: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_migrated)
    yield engine
    await engine.dispose()


async def test_a_process_with_its_own_relay_wakes_it_and_notifies_nobody(
    postgres_engine: AsyncEngine, postgres_migrated: str
) -> None:
    engine, migrated_url = postgres_engine, postgres_migrated
    worker_signal, worker_rings = InProcessOutboxSignal(), Rings()
    worker_signal.listen(worker_rings)
    notifier = PostgresOutboxNotifier(engine)
    serve_signal, serve_rings = InProcessOutboxSignal(otherwise=notifier.notify), Rings()
    serve_signal.listen(serve_rings)  # ``hduce serve``: its relay listens
    serve = SqlUnitOfWorkFactory(engine, outbox_signal=serve_signal)
    async with listening(migrated_url, worker_signal), contextlib.aclosing(notifier):
        await worker_rings.wait()  # on connecting
        async with serve() as uow:
            uow.emit(user_registered(1))
            await uow.commit()
        assert serve_rings.count == 1
        await asyncio.sleep(0.3)
        assert not worker_rings.rang.is_set()  # no NOTIFY in or after the commit
        assert notifier.sent == 0


async def test_commits_are_told_after_the_last_one_and_coalesced(
    postgres_engine: AsyncEngine, postgres_migrated: str
) -> None:
    engine, migrated_url = postgres_engine, postgres_migrated
    worker_signal, rings = InProcessOutboxSignal(), Rings()
    committed: list[float] = []
    heard: list[float] = []
    worker_signal.listen(lambda: heard.append(asyncio.get_running_loop().time()))
    worker_signal.listen(rings)
    notifier = PostgresOutboxNotifier(engine)
    api = SqlUnitOfWorkFactory(
        engine, outbox_signal=InProcessOutboxSignal(otherwise=notifier.notify)
    )

    async def book(n: int) -> None:
        async with api() as uow:
            uow.emit(user_registered(n))
            await uow.commit()
        committed.append(asyncio.get_running_loop().time())

    async with listening(migrated_url, worker_signal), contextlib.aclosing(notifier):
        await rings.wait()  # on connecting
        heard.clear()
        await asyncio.gather(*(book(n) for n in range(30)))
        await asyncio.sleep(0.5)
        assert 1 <= notifier.sent <= 30
        assert len(heard) == notifier.sent
        assert heard[-1] >= max(committed)  # nothing committed after the last wake-up

        # Commits that ring within one turn of the event loop make one notification.
        before = notifier.sent
        for _ in range(5):
            notifier.notify()
        await rings.wait()
        await asyncio.sleep(0.3)
        assert notifier.sent == before + 1
