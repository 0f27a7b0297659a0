"""In-memory cache and rate limiter (embedded defaults when no Redis is configured).

Both read time from a ``Clock``, so tests drive expiry with a ``FixedClock``.
State lives in this process only: with several processes, use Redis.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta
from typing import Literal

from hduce.application.ports import Clock, RateDecision

RateAlgorithm = Literal["sliding", "fixed"]


class InMemoryCache:
    """Bytes by key with a TTL; the oldest entries go first past ``max_entries``."""

    def __init__(self, clock: Clock, *, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[bytes, datetime]] = {}

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at <= self._clock.now():
            del self._entries[key]
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries.pop(key, None)
        if ttl_seconds <= 0:
            return  # expires at once, as Redis would have it
        self._entries[key] = (bytes(value), self._clock.now() + timedelta(seconds=ttl_seconds))
        if len(self._entries) > self._max_entries:
            self._evict()

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self) -> None:
        now = self._clock.now()
        for key in [k for k, (_, expires_at) in self._entries.items() if expires_at <= now]:
            del self._entries[key]
        while len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]


class InMemoryRateLimiter:
    """Counts hits per key and window.

    ``sliding`` (default) keeps the instants of the allowed hits of the last
    ``window_seconds``: exact, at most ``limit`` timestamps per key. ``fixed``
    counts per aligned window (``floor(epoch / window)``), like ``INCR`` + ``EXPIRE``.
    Refused hits do not count. ``retry_after_seconds`` is 0 when allowed, else the
    whole seconds until one more hit would pass (at least 1).
    """

    _SWEEP_EVERY = 1024

    def __init__(self, clock: Clock, *, algorithm: RateAlgorithm = "sliding") -> None:
        if algorithm not in ("sliding", "fixed"):
            raise ValueError(f"unknown rate limit algorithm {algorithm!r}")
        self._clock = clock
        self.algorithm: RateAlgorithm = algorithm
        self._logs: dict[tuple[str, int], deque[datetime]] = {}
        self._counters: dict[tuple[str, int], tuple[int, int]] = {}  # -> (window index, count)
        self._hits = 0

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        now = self._clock.now()
        self._hits += 1
        if self._hits % self._SWEEP_EVERY == 0:
            self._sweep(now)
        if self.algorithm == "fixed":
            return self._fixed(key, limit, window_seconds, now)
        return self._sliding(key, limit, window_seconds, now)

    async def peek(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        now = self._clock.now()
        if self.algorithm == "fixed":
            index, count = self._window_count(key, window_seconds, now)
            if count < limit:
                return RateDecision(allowed=True, remaining=limit - count, retry_after_seconds=0)
            wait = math.ceil((index + 1) * window_seconds - now.timestamp())
            return RateDecision(allowed=False, remaining=0, retry_after_seconds=max(wait, 1))
        window = timedelta(seconds=window_seconds)
        recent = [t for t in self._logs.get((key, window_seconds), ()) if t > now - window]
        if len(recent) < limit:
            return RateDecision(allowed=True, remaining=limit - len(recent), retry_after_seconds=0)
        if not recent:  # limit <= 0
            return RateDecision(allowed=False, remaining=0, retry_after_seconds=window_seconds)
        wait = math.ceil((recent[len(recent) - limit] + window - now).total_seconds())
        return RateDecision(allowed=False, remaining=0, retry_after_seconds=max(wait, 1))

    async def forget(self, key: str, *, window_seconds: int) -> None:
        self._logs.pop((key, window_seconds), None)
        self._counters.pop((key, window_seconds), None)

    def reset(self, key: str | None = None) -> None:
        """Forget the hits of ``key`` (all keys if None)."""
        if key is None:
            self._logs.clear()
            self._counters.clear()
            return
        for table in (self._logs, self._counters):
            for entry in [k for k in table if k[0] == key]:
                del table[entry]

    def _sliding(self, key: str, limit: int, window_seconds: int, now: datetime) -> RateDecision:
        window = timedelta(seconds=window_seconds)
        hits = self._logs.setdefault((key, window_seconds), deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) < limit:
            hits.append(now)
            return RateDecision(allowed=True, remaining=limit - len(hits), retry_after_seconds=0)
        if not hits:  # limit <= 0: nothing ever passes
            return RateDecision(allowed=False, remaining=0, retry_after_seconds=window_seconds)
        # The hit that frees a place is the one that makes the log shorter than ``limit``.
        frees_at = hits[len(hits) - limit] + window
        wait = math.ceil((frees_at - now).total_seconds())
        return RateDecision(allowed=False, remaining=0, retry_after_seconds=max(wait, 1))

    def _window_count(self, key: str, window_seconds: int, now: datetime) -> tuple[int, int]:
        """(index of the fixed window ``now`` is in, hits counted in it)."""
        index = math.floor(now.timestamp() / window_seconds)
        current_index, count = self._counters.get((key, window_seconds), (index, 0))
        return index, count if current_index == index else 0

    def _fixed(self, key: str, limit: int, window_seconds: int, now: datetime) -> RateDecision:
        epoch = now.timestamp()
        index, count = self._window_count(key, window_seconds, now)
        if count < limit:
            count += 1
            self._counters[(key, window_seconds)] = (index, count)
            return RateDecision(allowed=True, remaining=limit - count, retry_after_seconds=0)
        self._counters[(key, window_seconds)] = (index, count)
        wait = math.ceil((index + 1) * window_seconds - epoch)
        return RateDecision(allowed=False, remaining=0, retry_after_seconds=max(wait, 1))

    def _sweep(self, now: datetime) -> None:
        for (key, window_seconds), hits in list(self._logs.items()):
            if not hits or hits[-1] <= now - timedelta(seconds=window_seconds):
                del self._logs[(key, window_seconds)]
        epoch = now.timestamp()
        for (key, window_seconds), (index, _) in list(self._counters.items()):
            if index < math.floor(epoch / window_seconds):
                del self._counters[(key, window_seconds)]
