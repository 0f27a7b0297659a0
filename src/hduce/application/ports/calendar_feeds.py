"""Port of the calendar feed tokens (ADR 0023): secret subscription URLs of a
user's appointments. Only the SHA-256 of each token is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class CalendarFeed:
    id: UUID
    owner_id: UUID
    label: str
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CalendarFeedStore(Protocol):
    async def add(self, feed: CalendarFeed, *, max_active: int) -> bool:
        """Store the feed unless its owner has ``max_active`` active feeds already
        (False, nothing stored); race-free: concurrent calls never overshoot."""
        ...

    async def by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        """The feed with this token hash, revoked or not."""
        ...

    async def list_for(self, owner_id: UUID) -> list[CalendarFeed]:
        """The owner's feeds, oldest first, revoked ones included."""
        ...

    async def count_active(self, owner_id: UUID) -> int: ...

    async def revoke(self, feed_id: UUID, *, owner_id: UUID, now: datetime) -> CalendarFeed | None:
        """Mark the owner's feed revoked (a second revocation keeps the first time);
        None when the owner has no such feed."""
        ...
