"""Stored responses of requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import IdempotencyRow
from hduce.adapters.sql.repositories._support import affected_rows, upsert_insert
from hduce.application.ports import IdempotencyRecord


class SqlIdempotencyStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str, user_id: UUID, now: datetime) -> IdempotencyRecord | None:
        row = await self._session.scalar(
            select(IdempotencyRow)
            .where(
                IdempotencyRow.key == key,
                IdempotencyRow.user_id == user_id,
                IdempotencyRow.expires_at > now,
            )
            .execution_options(populate_existing=True)
        )
        if row is None:
            return None
        return IdempotencyRecord(
            key=row.key,
            user_id=row.user_id,
            fingerprint=row.fingerprint,
            status_code=row.status_code,
            body=bytes(row.body),
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    async def put(self, record: IdempotencyRecord) -> bool:
        values = {
            "key": record.key,
            "user_id": record.user_id,
            "fingerprint": record.fingerprint,
            "status_code": record.status_code,
            "body": record.body,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
        }
        insert = upsert_insert(self._session, IdempotencyRow).values(values)
        # A live record wins (0 rows); an expired one is replaced as if it were absent.
        result = await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["key", "user_id"],
                set_={
                    name: insert.excluded[name] for name in values if name not in ("key", "user_id")
                },
                where=IdempotencyRow.expires_at <= record.created_at,
            )
        )
        return affected_rows(result) == 1

    async def purge_expired(self, now: datetime) -> int:
        result = await self._session.execute(
            delete(IdempotencyRow).where(IdempotencyRow.expires_at <= now)
        )
        return affected_rows(result)
