"""Audit trail: who did what, newest first."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.repositories._support import (
    DEFAULT_PAGE,
    Repository,
    copied,
    paginate,
)
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import Page, PageRequest
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import AlreadyExists


class InMemoryAuditLog(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._entries = tables.audit

    async def add(self, entry: AuditEntry) -> None:
        if entry.id in self._entries:
            raise AlreadyExists(f"audit entry {entry.id} already exists")
        self._entries.put(entry.id, copied(entry), insert=True)

    async def list(
        self,
        *,
        target_id: str | None = None,
        actor_id: UUID | None = None,
        page: PageRequest = DEFAULT_PAGE,
        action: str | None = None,
        at_from: datetime | None = None,
        at_before: datetime | None = None,
    ) -> Page[AuditEntry]:
        found = [
            e
            for e in self._entries.values()
            if (target_id is None or e.target_id == target_id)
            and (actor_id is None or e.actor_id == actor_id)
            and (action is None or e.action == action)
            and (at_from is None or e.at >= at_from)
            and (at_before is None or e.at < at_before)
        ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return paginate([copied(e) for e in found], page)

    def validate_commit(self) -> None:
        for entry_id in self._entries.inserts_taken():
            raise AlreadyExists(f"audit entry {entry_id} already exists")
