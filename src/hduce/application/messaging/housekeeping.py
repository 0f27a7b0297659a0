"""Retention: forget what no one needs any more, so tables do not grow forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hduce.application.ports import Clock, Outbox, UnitOfWorkFactory

#: Published events are kept this long for inspection and replays, then deleted.
OUTBOX_RETENTION = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    idempotency_records: int
    outbox_rows: int


class PurgeExpiredRecords:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        outbox: Outbox,
        clock: Clock,
        outbox_retention: timedelta = OUTBOX_RETENTION,
    ) -> None:
        self._uow_factory = uow_factory
        self._outbox = outbox
        self._clock = clock
        self._outbox_retention = outbox_retention

    async def __call__(self) -> PurgeReport:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            records = await uow.idempotency.purge_expired(now)
            await uow.commit()
        rows = await self._outbox.purge_published(now - self._outbox_retention)
        return PurgeReport(idempotency_records=records, outbox_rows=rows)
