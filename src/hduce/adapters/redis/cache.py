"""The ``Cache`` port on Redis: bytes by key with a TTL, shared by every process."""

from __future__ import annotations

from redis.asyncio import Redis

from hduce.adapters.redis.client import DEFAULT_PREFIX


class RedisCache:
    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX + "cache:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            await self._redis.delete(self._prefix + key)  # expires at once
            return
        await self._redis.set(self._prefix + key, value, ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)
