"""The ``UserAccessCache`` port in process memory: the embedded default without Redis,
and the layer in front of Redis with it.

Entries live ``ttl`` (a few seconds): a change made through another process, which
cannot reach this memory, is seen here at most that late. Changes made through this
process replace the entry at once (``put``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from hduce.application.ports import Clock, UserAccess


class InMemoryUserAccessCache:
    def __init__(self, clock: Clock, ttl: timedelta, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[UUID, tuple[UserAccess, datetime]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, user_id: UUID) -> UserAccess | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        if entry[1] <= self._clock.now():
            del self._entries[user_id]
            return None
        return entry[0]

    async def fill(self, access: UserAccess) -> None:
        if await self.get(access.id) is None:
            self._store(access)

    async def put(self, access: UserAccess) -> None:
        self._entries.pop(access.id, None)
        self._store(access)

    def _store(self, access: UserAccess) -> None:
        if self._ttl <= timedelta(0):
            return  # caching off: every request reads the account
        if len(self._entries) >= self._max_entries:
            # Dicts keep insertion order: drop the oldest tenth at once, not one per call.
            for user_id in list(self._entries)[: max(1, self._max_entries // 10)]:
                del self._entries[user_id]
        self._entries[access.id] = (access, self._clock.now() + self._ttl)
