"""Audit trail: who did what, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import AuditRow
from hduce.adapters.sql.repositories._support import page_of, paged, table
from hduce.application.ports import Page, PageRequest
from hduce.domain.audit import AuditEntry
from hduce.domain.identity import Role


class SqlAuditLog:
    """Entries are written with the unit of work's commit, in the statement that writes
    its events (``take_pending``; one round trip less per change), or before this log
    is read in the same transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._pending: list[dict[str, Any]] = []

    async def add(self, entry: AuditEntry) -> None:
        self._pending.append(
            {
                "id": entry.id,
                "at": entry.at,
                "actor_role": entry.actor_role.value,
                "actor_id": entry.actor_id,
                "action": entry.action,
                "target_type": entry.target_type,
                "target_id": entry.target_id,
                "details": dict(entry.details),
            }
        )

    def take_pending(self) -> list[dict[str, Any]]:
        """The rows of the entries added since the last write, which the caller writes."""
        pending, self._pending = self._pending, []
        return pending

    async def _write_pending(self) -> None:
        pending = self.take_pending()
        if pending:
            await self._session.execute(table(AuditRow).insert(), pending)

    async def list(
        self,
        *,
        target_id: str | None = None,
        actor_id: UUID | None = None,
        page: PageRequest = PageRequest(),
        action: str | None = None,
        at_from: datetime | None = None,
        at_before: datetime | None = None,
    ) -> Page[AuditEntry]:
        await self._write_pending()
        statement: Select[Any] = select(AuditRow)
        if target_id is not None:
            statement = statement.where(AuditRow.target_id == target_id)
        if actor_id is not None:
            statement = statement.where(AuditRow.actor_id == actor_id)
        if action is not None:
            statement = statement.where(AuditRow.action == action)
        if at_from is not None:
            statement = statement.where(AuditRow.at >= at_from)
        if at_before is not None:
            statement = statement.where(AuditRow.at < at_before)
        rows, total, limit, offset = await paged(
            self._session, statement, page, (AuditRow.at.desc(), AuditRow.id.desc())
        )
        entries = [
            AuditEntry(
                at=row.at,
                actor_role=Role(row.actor_role),
                actor_id=row.actor_id,
                action=row.action,
                target_type=row.target_type,
                target_id=row.target_id,
                details=dict(row.details or {}),
                id=row.id,
            )
            for row in rows
        ]
        return page_of(entries, total, limit, offset)
