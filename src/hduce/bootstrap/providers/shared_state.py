"""State the API processes share: the cache (pending Google sign-ins), the rate-limit
counters, the access-token denylist and the accounts' access state that authentication
reads; in process memory, or in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide
from redis.asyncio import Redis

from hduce.adapters.memory.access_cache import InMemoryUserAccessCache
from hduce.adapters.memory.cache import InMemoryCache, InMemoryRateLimiter
from hduce.adapters.memory.identity import InMemoryTokenDenylist
from hduce.adapters.redis.access_cache import RedisUserAccessCache
from hduce.adapters.redis.cache import RedisCache
from hduce.adapters.redis.client import create_redis
from hduce.adapters.redis.denylist import RedisTokenDenylist
from hduce.adapters.redis.rate_limit import RedisRateLimiter
from hduce.application.identity.access_cache import LayeredUserAccessCache
from hduce.application.ports import Cache, Clock, RateLimiter, TokenDenylist, UserAccessCache
from hduce.bootstrap.settings import Settings


class InMemorySharedStateProvider(Provider):
    """One process's memory: the embedded default (only right with a single process)."""

    scope = Scope.APP

    @provide
    def cache(self, clock: Clock) -> Cache:
        return InMemoryCache(clock)

    @provide
    def rate_limiter(self, clock: Clock) -> RateLimiter:
        return InMemoryRateLimiter(clock)

    @provide
    def denylist(self, clock: Clock) -> TokenDenylist:
        return InMemoryTokenDenylist(clock)

    @provide
    def user_access(self, clock: Clock, settings: Settings) -> UserAccessCache:
        return InMemoryUserAccessCache(clock, settings.auth.account_cache_ttl)


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
