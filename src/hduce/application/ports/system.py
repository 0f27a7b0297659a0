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
    """Every probe of this process (the container provides the holder)."""

    probes: tuple[ReadinessProbe, ...] = ()


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
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision: ...
