"""The ``TokenDenylist`` port on Redis: one key per denied id, expiring with the token.

Every API process sees a logout at once, and Redis forgets the entry when the
token would have died anyway, so the set never grows past the live tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from hduce.adapters.redis.client import DEFAULT_PREFIX


class RedisTokenDenylist:
    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX + "deny:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def deny(self, key: str, until: datetime) -> None:
        until_ms = int(until.timestamp() * 1000)
        if until_ms <= int(datetime.now(UTC).timestamp() * 1000):
            return
        name = self._prefix + key
        # Create it, or only ever push its expiry later (a second logout never shortens it).
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(name, b"1", pxat=until_ms, nx=True)
            pipe.pexpireat(name, until_ms, gt=True)
            await pipe.execute()

    async def is_denied(self, *keys: str) -> bool:
        if not keys:
            return False
        return int(await self._redis.exists(*(self._prefix + key for key in keys))) > 0
