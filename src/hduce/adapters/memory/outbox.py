"""The outbox of the in-memory store (the ``Outbox`` port), and the in-process
``OutboxSignal`` every unit of work rings after committing events.

Units of work append events to ``InMemoryStore.outbox`` when they commit; the
relay hands them to a publisher in commit order and marks each one published
only after the publisher returned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from hduce.adapters.memory.store import InMemoryStore, OutboxRow
from hduce.application.ports import Clock, EventHandler, OutboxStats, RelayResult

log = structlog.get_logger("hduce.outbox")


class InMemoryOutbox:
    def __init__(self, store: InMemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def _unpublished(self, limit: int) -> list[OutboxRow]:
        batch: list[OutboxRow] = []
        for row in self._store.outbox:
            if len(batch) >= limit:
                break
            if row.published_at is None:
                batch.append(row)
        return batch

    async def relay_batch(self, limit: int, publish: EventHandler) -> RelayResult:
        # One relay at a time: a row is never handed out twice, and order is kept.
        async with self._store.outbox_lock:
            published = 0
            try:
                for row in self._unpublished(limit):
                    try:
                        await publish(row.event)
                    except Exception:
                        log.warning(
                            "outbox.publish_failed",
                            event_id=str(row.event.id),
                            event_type=row.event.type,
                            exc_info=True,
                        )
                        return RelayResult(published=published, failed=True)
                    row.published_at = self._clock.now()
                    published += 1
            finally:
                self._store.prune_outbox()
            return RelayResult(published=published, failed=False)

    async def stats(self, now: datetime) -> OutboxStats:
        backlog = 0
        oldest: datetime | None = None
        for row in self._store.outbox:
            if row.published_at is None:
                backlog += 1
                if oldest is None or row.created_at < oldest:
                    oldest = row.created_at
        age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        return OutboxStats(backlog=backlog, oldest_age_seconds=age)

    async def purge_published(self, before: datetime) -> int:
        async with self._store.outbox_lock:
            kept = [
                row
                for row in self._store.outbox
                if row.published_at is None or row.published_at >= before
            ]
            purged = len(self._store.outbox) - len(kept)
            self._store.outbox[:] = kept
            return purged


class InProcessOutboxSignal:
    """``OutboxSignal`` within one process: calls each listener (the relay's ``wake``),
    so a commit reaches the relay at once instead of at its next poll."""

    def __init__(self, *, otherwise: Callable[[], None] | None = None) -> None:
        self._listeners: list[Callable[[], None]] = []
        #: Rung instead when nothing in this process listens (no relay here): e.g. a
        #: notification to the other processes' relays (``PostgresOutboxNotifier``).
        self._otherwise = otherwise

    def notify(self) -> None:
        if not self._listeners and self._otherwise is not None:
            self._otherwise()
        for listener in tuple(self._listeners):
            listener()

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` on every ``notify``; returns what stops it."""
        self._listeners.append(listener)

        def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return stop
