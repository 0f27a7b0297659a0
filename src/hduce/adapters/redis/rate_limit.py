"""The ``RateLimiter`` port on Redis: an exact sliding window, atomic in one Lua script.

Each key is a sorted set of the instants (ms) of the allowed hits of the last
window. The script drops the old ones, counts, and either records the hit (unless it
only peeks) or computes when the oldest hit that matters leaves the window: the same
answers as ``hduce.adapters.memory.cache.InMemoryRateLimiter`` (sliding), for every
process at once. Time comes from the Redis server (``TIME``), so API hosts with skewed
clocks still agree; tests may pass a ``Clock`` instead.
"""

from __future__ import annotations

import math
import uuid
from typing import Any, Final

from redis.asyncio import Redis

from hduce.adapters.redis.client import DEFAULT_PREFIX
from hduce.application.ports import Clock, RateDecision

_SLIDING_WINDOW: Final = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  if ARGV[5] == 'peek' then
    return {1, limit - count, 0}
  end
  redis.call('ZADD', key, now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', key, window)
  return {1, limit - count - 1, 0}
end
if limit <= 0 then
  return {0, 0, window}
end
local frees = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, 0, tonumber(frees[2]) + window - now}
"""


class RedisRateLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = DEFAULT_PREFIX + "rate:",
        clock: Clock | None = None,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._script: Any = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        return await self._run(key, limit, window_seconds, mode="hit")

    async def peek(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        return await self._run(key, limit, window_seconds, mode="peek")

    async def forget(self, key: str, *, window_seconds: int) -> None:
        await self._redis.delete(self._key(key, window_seconds))

    def _key(self, key: str, window_seconds: int) -> str:
        return f"{self._prefix}{window_seconds}:{key}"

    async def _run(self, key: str, limit: int, window_seconds: int, *, mode: str) -> RateDecision:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        now_ms = str(int(self._clock.now().timestamp() * 1000)) if self._clock else ""
        allowed, remaining, wait_ms = await self._script(
            keys=[self._key(key, window_seconds)],
            args=[limit, window_seconds * 1000, uuid.uuid4().hex, now_ms, mode],
        )
        if int(allowed) == 1:
            return RateDecision(allowed=True, remaining=int(remaining), retry_after_seconds=0)
        wait = math.ceil(int(wait_ms) / 1000)
        return RateDecision(allowed=False, remaining=0, retry_after_seconds=max(wait, 1))
