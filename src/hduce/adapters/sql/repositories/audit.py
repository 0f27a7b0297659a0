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
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entry: AuditEntry) -> None:
        await self._session.execute(
            table(AuditRow)
            .insert()
            .values(
                id=entry.id,
                at=entry.at,
                actor_role=entry.actor_role.value,
                actor_id=entry.actor_id,
                action=entry.action,
                target_type=entry.target_type,
                target_id=entry.target_id,
                details=dict(entry.details),
            )
        )

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
