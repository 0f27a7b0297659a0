"""The consumers' inbox: which event each consumer has handled already."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import ProcessedEventRow
from hduce.adapters.sql.repositories._support import (
    DriverStatement,
    affected_rows,
    dialect_insert,
    dialect_name,
    execute_core,
    table,
)


def _first_time_statements() -> dict[str, DriverStatement]:
    """``INSERT ... ON CONFLICT DO NOTHING`` of one (consumer, event) per dialect, built
    and compiled once: every event a consumer handles sends it."""
    columns = table(ProcessedEventRow).c
    values = {
        name: bindparam(name, type_=columns[name].type)
        for name in ("consumer", "event_id", "processed_at")
    }
    return {
        dialect: DriverStatement(
            dialect_insert(dialect, ProcessedEventRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        )
        for dialect in ("postgresql", "sqlite")
    }


_FIRST_TIME: Final = _first_time_statements()


class SqlProcessedEvents:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def first_time(self, consumer: str, event_id: UUID) -> bool:
        result = await execute_core(
            self._session,
            _FIRST_TIME[dialect_name(self._session)],
            {"consumer": consumer, "event_id": event_id, "processed_at": datetime.now(UTC)},
        )
        return affected_rows(result) == 1
