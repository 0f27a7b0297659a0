"""Redis adapters: cache, rate limiter and access-token denylist (shared by every process)."""

from hduce.adapters.redis.cache import RedisCache
from hduce.adapters.redis.client import RedisReadiness, create_redis
from hduce.adapters.redis.denylist import RedisTokenDenylist
from hduce.adapters.redis.rate_limit import RedisRateLimiter

__all__ = [
    "RedisCache",
    "RedisRateLimiter",
    "RedisReadiness",
    "RedisTokenDenylist",
    "create_redis",
]
