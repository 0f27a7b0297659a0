"""Stored responses of requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import IdempotencyRecord
from hduce.domain.errors import AlreadyExists


class InMemoryIdempotencyStore(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._records = tables.idempotency

    async def get(self, key: str, user_id: UUID, now: datetime) -> IdempotencyRecord | None:
        record = self._records.get((user_id, key))
        if record is None or record.expires_at <= now:
            return None
        return record  # frozen, bytes body: nothing to copy

    async def put(self, record: IdempotencyRecord) -> bool:
        existing = self._records.get((record.user_id, record.key))
        if existing is not None and existing.expires_at > record.created_at:
            return False
        self._records.put((record.user_id, record.key), record, insert=existing is None)
        return True

    async def purge_expired(self, now: datetime) -> int:
        expired = [key for key, record in self._records.items() if record.expires_at <= now]
        for key in expired:
            self._records.delete(key)
        return len(expired)

    def validate_commit(self) -> None:
        for user_id, key in self._records.inserts_taken():
            raise AlreadyExists(f"idempotency key {key!r} of user {user_id} is taken")
