"""Small services every layer leans on: clock, ids, cache, rate limits, readiness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

# ------------------------------------------------------------------ small services


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


# ------------------------------------------------------------------ health


class ReadinessProbe(Protocol):
    """One dependency the service needs. ``check`` returns when it is usable and
    raises (anything) when it is not."""

    @property
    def name(self) -> str: ...

    async def check(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReadinessProbes:
    """Every probe of this process (the container provides the holder).

    ``probes``: dependencies the process cannot serve without (down -> 503).
    ``degrading``: dependencies it can do without for a while (the broker: events
    wait in the outbox), reported down but leaving the process ready."""

    probes: tuple[ReadinessProbe, ...] = ()
    degrading: tuple[ReadinessProbe, ...] = ()


# ------------------------------------------------------------------ cache and limits


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after_seconds: int


class RateLimiter(Protocol):
    """Counts hits per key over a window of ``window_seconds`` (each window its own count).

    Refused hits do not count. ``retry_after_seconds`` is 0 when allowed, else the whole
    seconds until one more hit would pass (at least 1)."""

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        """Count one hit if fewer than ``limit`` were counted in the window; ``remaining``
        is how many more would pass after this one."""
        ...

    async def peek(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        """Whether a hit would pass now, counting nothing; ``remaining`` is how many hits
        would pass. Lets a caller count only some outcomes (e.g. failed logins)."""
        ...

    async def forget(self, key: str, *, window_seconds: int) -> None:
        """Drop every hit counted for ``key`` in that window."""
        ...
