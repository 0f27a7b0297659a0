"""PostgreSQL and SQLite keep trace contexts beside outbox events and notifications
(``outbox.trace_context``, ``notifications.trace_context``, migration 0011), and leave
the columns NULL while tracing is off."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.adapters.sql.models import OutboxRow
from tests.unit.adapters.contract import user_registered
from tests.unit.adapters.trace_contract import TraceContextContract, stand_in_tracing

__all__ = ["stand_in_tracing"]


class TestSqlTraceContext(TraceContextContract):
    pass


async def test_untraced_events_leave_the_column_null(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        uow.emit(user_registered(1))
        await uow.commit()
    async with engine.connect() as connection:
        stored = (await connection.execute(select(OutboxRow.trace_context.is_(None)))).scalar()
    assert stored is True
