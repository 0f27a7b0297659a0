"""Redis adapters: cache, account-access cache, rate limiter, access-token denylist, live notification fan-out
and stream cap (shared by every process)."""

from hduce.adapters.redis import _library  # noqa: F401  # first: imports redis-py
from hduce.adapters.redis.access_cache import RedisUserAccessCache
from hduce.adapters.redis.cache import RedisCache
from hduce.adapters.redis.client import RedisReadiness, create_redis
from hduce.adapters.redis.denylist import RedisTokenDenylist
from hduce.adapters.redis.rate_limit import RedisRateLimiter
from hduce.adapters.redis.realtime import RedisRealtimeFanout, RedisStreamSlots

__all__ = [
    "RedisCache",
    "RedisRateLimiter",
    "RedisReadiness",
    "RedisRealtimeFanout",
    "RedisStreamSlots",
    "RedisTokenDenylist",
    "RedisUserAccessCache",
    "create_redis",
]
