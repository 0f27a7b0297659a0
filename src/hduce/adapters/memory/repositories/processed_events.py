"""The consumers' inbox: which event each consumer has handled already."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository
from hduce.adapters.memory.store import StoreTables
from hduce.domain.errors import AlreadyExists


class InMemoryProcessedEvents(Repository):
    def __init__(self, tables: StoreTables, now: Callable[[], datetime]) -> None:
        self._seen = tables.processed_events
        self._now = now

    async def first_time(self, consumer: str, event_id: UUID) -> bool:
        if (consumer, event_id) in self._seen:
            return False
        self._seen.put((consumer, event_id), self._now(), insert=True)
        return True

    def validate_commit(self) -> None:
        for consumer, event_id in self._seen.inserts_taken():
            raise AlreadyExists(f"{consumer} has processed event {event_id} already")
