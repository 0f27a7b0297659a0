"""A real Redis for the live fan-out and the stream cap, with the fixture names of the
shared port contracts (tests/unit/adapters/contract.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hduce.adapters.redis import create_redis
from hduce.adapters.redis.realtime import RedisRealtimeFanout, RedisStreamSlots


@pytest.fixture
def prefix() -> str:
    """Keys and channels of one test, so tests sharing the server never see each other."""
    return f"hduce-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = create_redis(redis_url)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def fanout(redis: Redis, prefix: str) -> AsyncIterator[RedisRealtimeFanout]:
    fanout = RedisRealtimeFanout(redis, prefix=prefix + "live:")
    yield fanout
    await fanout.close()


@pytest.fixture
async def tiny_fanout(redis: Redis, prefix: str) -> AsyncIterator[RedisRealtimeFanout]:
    fanout = RedisRealtimeFanout(redis, prefix=prefix + "live:", max_queue=2)
    yield fanout
    await fanout.close()


@pytest.fixture
def stream_slots(redis: Redis, prefix: str) -> RedisStreamSlots:
    return RedisStreamSlots(redis, prefix=prefix + "streams:")
