"""State the API processes share: the cache (pending Google sign-ins), the rate-limit
counters, the access-token denylist and the accounts' access state that authentication
reads; in process memory here, or in Redis (``hduce.bootstrap.providers.redis``, imported
only with ``HDUCE_REDIS_URL``: redis-py is about 20 MB of a process)."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.adapters.memory.access_cache import InMemoryUserAccessCache
from hduce.adapters.memory.cache import InMemoryCache, InMemoryRateLimiter
from hduce.adapters.memory.identity import InMemoryTokenDenylist
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
