"""The consumers' inbox: which event each consumer has handled already."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import ProcessedEventRow
from hduce.adapters.sql.repositories._support import affected_rows, upsert_insert


class SqlProcessedEvents:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def first_time(self, consumer: str, event_id: UUID) -> bool:
        result = await self._session.execute(
            upsert_insert(self._session, ProcessedEventRow)
            .values(consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        )
        return affected_rows(result) == 1
