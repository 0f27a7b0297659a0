"""Clocks and id generators (the ``Clock`` and ``IdGenerator`` ports).

``SystemClock`` and ``UuidV7Generator`` are what every deployment uses; the
tests' deterministic ones live in ``tests/fakes/clock.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from hduce.domain.ids import uuid7


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidV7Generator:
    """Time-ordered UUIDv7 ids (RFC 9562)."""

    def new_id(self) -> UUID:
        return uuid7()
