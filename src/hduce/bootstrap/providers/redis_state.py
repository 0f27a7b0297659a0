"""Redis at ``HDUCE_REDIS_URL``: the state the API processes share and the live side of
notifications. Imported only when Redis is configured (``hduce.bootstrap.container``):
redis-py loads about 20 MB of modules (its command tables), which a process on the
embedded defaults never uses. The in-memory counterparts are in ``shared_state`` and
``realtime``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide
from redis.asyncio import Redis

from hduce.adapters.memory.access_cache import InMemoryUserAccessCache
from hduce.adapters.redis.access_cache import RedisUserAccessCache
from hduce.adapters.redis.cache import RedisCache
from hduce.adapters.redis.client import create_redis
from hduce.adapters.redis.denylist import RedisTokenDenylist
from hduce.adapters.redis.rate_limit import RedisRateLimiter
from hduce.adapters.redis.realtime import RedisRealtimeFanout, RedisStreamSlots
from hduce.application.identity.access_cache import LayeredUserAccessCache
from hduce.application.ports import (
    Cache,
    Clock,
    RateLimiter,
    RealtimeFanout,
    RealtimeSubscriber,
    StreamSlots,
    TokenDenylist,
    UserAccessCache,
)
from hduce.bootstrap.settings import Settings


class RedisSharedStateProvider(Provider):
    """Redis at ``HDUCE_REDIS_URL``, shared by every process; also provides the client
    (the readiness probe pings it)."""

    scope = Scope.APP

    @provide
    async def redis(self, settings: Settings) -> AsyncIterator[Redis]:
        if settings.redis is None:
            raise ValueError("RedisSharedStateProvider needs HDUCE_REDIS_URL")
        client = create_redis(
            settings.redis.url,
            max_connections=settings.redis.max_connections,
            pool_timeout=settings.redis.pool_timeout,
        )
        try:
            yield client
        finally:
            await client.aclose()

    @provide
    def cache(self, redis: Redis) -> Cache:
        return RedisCache(redis)

    @provide
    def rate_limiter(self, redis: Redis) -> RateLimiter:
        return RedisRateLimiter(redis)

    @provide
    def denylist(self, redis: Redis) -> TokenDenylist:
        return RedisTokenDenylist(redis)

    @provide
    def user_access(self, redis: Redis, clock: Clock, settings: Settings) -> UserAccessCache:
        # A few seconds in process memory in front of Redis: one Redis command less per
        # request (ADR 0010).
        return LayeredUserAccessCache(
            InMemoryUserAccessCache(clock, settings.auth.account_cache_ttl),
            RedisUserAccessCache(redis),
        )


class RedisRealtimeProvider(Provider):
    """Redis pub/sub and leases, shared by every process (the client comes from
    ``RedisSharedStateProvider``)."""

    scope = Scope.APP

    @provide
    async def fanout(self, redis: Redis) -> AsyncIterator[RedisRealtimeFanout]:
        fanout = RedisRealtimeFanout(redis)
        yield fanout
        await fanout.close()

    @provide
    def realtime_publisher(self, fanout: RedisRealtimeFanout) -> RealtimeFanout:
        return fanout

    @provide
    def realtime_subscriber(self, fanout: RedisRealtimeFanout) -> RealtimeSubscriber:
        return fanout

    @provide
    def stream_slots(self, redis: Redis) -> StreamSlots:
        return RedisStreamSlots(redis)
