"""A clock and an id generator that make tests deterministic.

``FixedClock`` only moves when told to; ``SequentialIdGenerator`` hands out
readable UUIDs (…0001, …0002). Deployments use ``hduce.adapters.clock``.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID

#: Where a ``FixedClock`` starts when not told otherwise: a Monday morning, well in
#: the future so that bookings made by tests are never "in the past".
DEFAULT_FIXED_INSTANT = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def _aware_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a clock needs a timezone-aware datetime")
    return instant.astimezone(UTC)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime = DEFAULT_FIXED_INSTANT) -> None:
        self._now = _aware_utc(at)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = _aware_utc(at)

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> datetime:
        """Move forward (or backward, with a negative delta); returns the new instant."""
        step = (delta or timedelta(0)) + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        self._now += step
        return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


class SequentialIdGenerator:
    """UUIDs 00000000-0000-0000-0000-000000000001, ...2, ... for readable test output."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new_id(self) -> UUID:
        with self._lock:
            return UUID(int=next(self._counter))
