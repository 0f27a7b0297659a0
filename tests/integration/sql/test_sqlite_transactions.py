"""How the SQLite adapter uses transactions (see ``hduce.adapters.sql.engine``).

* a serialized unit of work holds the write lock from ``__aenter__`` (BEGIN IMMEDIATE);
* plain units of work read without waiting for writers (DEFERRED, WAL);
* a plain unit of work that read, then writes after someone else committed, waits for
  the lock instead of failing with SQLITE_BUSY_SNAPSHOT ("database is locked").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from tests.unit.adapters.contract import new_user

#: Long enough for a second unit of work to get in if nothing stopped it.
SETTLE = 0.3


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'folders' / 'hduce.sqlite3'}"
    await upgrade_database(url)
    return url


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url, sqlite_busy_timeout=10)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def factory(sqlite_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(sqlite_engine)


@pytest.fixture
async def other_process(sqlite_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """A second engine and factory: another process, as far as locks are concerned."""
    engine = create_engine(sqlite_url, sqlite_busy_timeout=10)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


async def _second_writer_waits_for_the_first(
    first: SqlUnitOfWorkFactory, second: SqlUnitOfWorkFactory
) -> None:
    entered = asyncio.Event()

    async def second_writer() -> None:
        async with second(serialized=True):
            entered.set()

    async with first(serialized=True):
        queued = asyncio.create_task(second_writer())
        await asyncio.sleep(SETTLE)
        assert not entered.is_set(), "a second writer got in while the lock was held"
    await asyncio.wait_for(queued, timeout=10)
    assert entered.is_set()


async def test_connections_use_wal_foreign_keys_and_a_busy_timeout(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    assert (tmp_path / "nested" / "folders" / "hduce.sqlite3").exists()
    async with sqlite_engine.connect() as connection:
        assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert await connection.scalar(text("PRAGMA busy_timeout")) == 10_000


async def test_a_serialized_unit_of_work_holds_the_write_lock_from_the_start(
    factory: SqlUnitOfWorkFactory, other_process: SqlUnitOfWorkFactory
) -> None:
    # Only SQLite's file lock (BEGIN IMMEDIATE) can hold back another process.
    await _second_writer_waits_for_the_first(factory, other_process)


async def test_serialized_units_of_one_process_queue_in_process(
    factory: SqlUnitOfWorkFactory,
) -> None:
    await _second_writer_waits_for_the_first(factory, factory)


async def test_readers_do_not_wait_for_a_writer(factory: SqlUnitOfWorkFactory) -> None:
    user = new_user()
    async with factory(serialized=True) as writer:
        await writer.users.add(user)
        async with factory() as reader:
            found = await asyncio.wait_for(reader.users.get(user.id), timeout=2)
        assert found is None  # not committed yet
        await writer.commit()
    async with factory() as reader:
        assert await reader.users.get(user.id) is not None


async def test_read_then_write_after_another_commit_waits_instead_of_failing(
    factory: SqlUnitOfWorkFactory,
) -> None:
    ada, bob = new_user("Ada One"), new_user("Bob Two")
    async with factory() as uow:
        await uow.users.add(ada)
        await uow.users.add(bob)
        await uow.commit()

    async with factory() as slow:
        loaded = await slow.users.get(ada.id)  # starts a read snapshot
        assert loaded is not None
        async with factory() as fast:
            other = await fast.users.get(bob.id)
            assert other is not None
            other.full_name = "Bob Renamed"
            await fast.users.save(other)
            await fast.commit()
        # SQLite would refuse to turn the old read snapshot into a write transaction;
        # the adapter starts the write transaction afresh instead.
        loaded.full_name = "Ada Renamed"
        await slow.users.save(loaded)
        await slow.commit()

    async with factory() as uow:
        renamed = [await uow.users.get(ada.id), await uow.users.get(bob.id)]
    assert [user.full_name for user in renamed if user] == ["Ada Renamed", "Bob Renamed"]


async def test_many_plain_writers_after_reads_all_succeed(factory: SqlUnitOfWorkFactory) -> None:
    users = [new_user(f"User {n}") for n in range(20)]
    async with factory() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()

    async def rename(user_id: object) -> None:
        async with factory() as uow:
            user = await uow.users.get(user_id)  # type: ignore[arg-type]
            assert user is not None
            await asyncio.sleep(0.01)  # let the others read and commit in between
            user.full_name = f"{user.full_name} (renamed)"
            await uow.users.save(user)
            await uow.commit()

    await asyncio.gather(*(rename(user.id) for user in users))
    async with factory() as uow:
        stored = [await uow.users.get(user.id) for user in users]
    assert all(user is not None and user.full_name.endswith("(renamed)") for user in stored)


async def test_a_serialized_unit_inside_another_fails_instead_of_hanging(
    sqlite_engine: AsyncEngine,
) -> None:
    factory = SqlUnitOfWorkFactory(sqlite_engine, sqlite_lock_timeout=0.2)
    async with factory(serialized=True):
        with pytest.raises(TimeoutError, match="SQLite write lock"):
            async with factory(serialized=True):
                pass
    async with factory(serialized=True):  # the gate was released on the way out
        pass
