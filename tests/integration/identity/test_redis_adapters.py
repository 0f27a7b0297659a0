"""Redis cache, rate limiter and denylist against a real Redis: the same contracts as the
in-memory adapters, plus atomicity under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from hduce.adapters.redis import RedisRateLimiter, RedisTokenDenylist, create_redis
from tests.fakes import FixedClock
from tests.unit.adapters.contract import CacheContract, RateLimiterContract, TokenDenylistContract


class TestRedisCache(CacheContract):
    pass


class TestRedisRateLimiter(RateLimiterContract):
    pass


class TestRedisDenylist(TokenDenylistContract):
    pass


async def test_rate_limit_is_atomic_across_concurrent_clients(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    """50 hits at once from 5 separate connections: exactly ``limit`` pass."""
    clients = [create_redis(redis_url) for _ in range(5)]
    try:
        limiters = [RedisRateLimiter(client, prefix=prefix) for client in clients]
        decisions = await asyncio.gather(
            *(
                limiters[n % 5].hit("login:ip:1.2.3.4", limit=10, window_seconds=60)
                for n in range(50)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 10
    assert sorted(d.remaining for d in allowed) == list(range(10))
    assert all(1 <= d.retry_after_seconds <= 60 for d in decisions if not d.allowed)


async def test_retry_after_is_when_the_oldest_hit_leaves_the_window(
    redis: Redis, prefix: str
) -> None:
    clock = FixedClock()
    limiter = RedisRateLimiter(redis, prefix=prefix, clock=clock)
    assert (await limiter.hit("k", limit=2, window_seconds=60)).allowed
    clock.advance(seconds=20)
    assert (await limiter.hit("k", limit=2, window_seconds=60)).allowed
    clock.advance(seconds=10)
    refused = await limiter.hit("k", limit=2, window_seconds=60)
    assert (refused.allowed, refused.retry_after_seconds) == (False, 30)
    clock.advance(seconds=30)
    assert (await limiter.hit("k", limit=2, window_seconds=60)).allowed
    # Keys expire with their window: nothing is left behind in Redis.
    ttl = await redis.pttl(f"{prefix}60:k")
    assert 0 < ttl <= 60_000


async def test_denylist_entries_expire_with_the_token(redis: Redis, prefix: str) -> None:
    denylist = RedisTokenDenylist(redis, prefix=prefix)
    until = datetime.now(UTC) + timedelta(minutes=15)
    await denylist.deny("jti:abc", until)
    await denylist.deny("jti:abc", until - timedelta(minutes=10))  # never shortens
    expiry_ms = await redis.pexpiretime(f"{prefix}jti:abc")
    assert abs(expiry_ms - int(until.timestamp() * 1000)) < 5
    await denylist.deny("jti:old", datetime.now(UTC) - timedelta(seconds=1))
    assert not await redis.exists(f"{prefix}jti:old")
