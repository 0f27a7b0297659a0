"""The pools wait for a free connection instead of failing, for a bounded time.

redis-py's default pool raised ``MaxConnectionsError`` as soon as its limit was
reached, so a burst above it failed; ``create_redis`` blocks. SQLAlchemy's pool
blocks too; both end their wait with an error the HTTP layer answers 503.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.redis import create_redis
from hduce.adapters.sql import create_engine
from hduce.bootstrap.outages import outage_of


async def test_a_burst_above_the_redis_limit_waits_and_succeeds(redis_url: str) -> None:
    client = create_redis(redis_url, max_connections=2, pool_timeout=10)
    key = f"hduce:test:pools:{uuid.uuid4().hex}"
    try:
        results = await asyncio.gather(*(client.incr(key) for _ in range(200)))
        await client.delete(key)
    finally:
        await client.aclose()

    assert sorted(results) == list(range(1, 201))


async def test_a_full_redis_pool_fails_after_its_timeout_as_an_outage(redis_url: str) -> None:
    client = create_redis(redis_url, max_connections=2, pool_timeout=0.3)
    pool = client.connection_pool
    held = [await pool.get_connection(), await pool.get_connection()]
    try:
        started = time.monotonic()
        with pytest.raises(RedisConnectionError) as caught:
            await client.ping()
        waited = time.monotonic() - started
        for connection in held:
            await pool.release(connection)
        held = []
        assert await client.ping()  # free again: served
    finally:
        for connection in held:
            await pool.release(connection)
        await client.aclose()

    assert waited >= 0.25
    outage = outage_of(caught.value)
    assert outage is not None
    assert (outage.service, outage.kind) == ("redis", "busy")


async def test_a_full_database_pool_waits_then_fails_as_an_outage(postgres_database: str) -> None:
    async def one(engine: AsyncEngine) -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT 1"))).scalar_one())

    # A burst waits its turn on the one connection (a generous timeout: on a loaded
    # machine twenty turns can take longer than the tight one below)...
    patient = create_engine(postgres_database, pool_size=1, max_overflow=0, pool_timeout=30)
    try:
        assert await asyncio.gather(*(one(patient) for _ in range(20))) == [1] * 20
    finally:
        await patient.dispose()
    # ... and, with the connection kept, the next one gives up after the timeout.
    engine = create_engine(postgres_database, pool_size=1, max_overflow=0, pool_timeout=0.3)
    try:
        async with engine.connect():
            started = time.monotonic()
            with pytest.raises(PoolTimeout) as caught:
                await one(engine)
            waited = time.monotonic() - started
    finally:
        await engine.dispose()

    assert waited >= 0.25
    outage = outage_of(caught.value)
    assert outage is not None
    assert (outage.service, outage.kind) == ("database", "busy")
