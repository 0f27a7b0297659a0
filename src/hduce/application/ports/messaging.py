"""Messaging ports: the transactional outbox and the event bus it feeds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hduce.domain.events import DomainEvent

# ------------------------------------------------------------------ outbox and bus


@dataclass(frozen=True, slots=True)
class OutboxStats:
    backlog: int
    oldest_age_seconds: float


@dataclass(frozen=True, slots=True)
class RelayResult:
    published: int
    failed: bool  # the batch stopped at a publishing error; the rest waits for a retry


EventHandler = Callable[[DomainEvent], Awaitable[None]]


class Outbox(Protocol):
    async def relay_batch(self, limit: int, publish: EventHandler) -> RelayResult:
        """Take up to ``limit`` unpublished events in order, hand each to ``publish``
        and mark it published only once ``publish`` returned. One aggregate's events
        are handed over one after another, in order, and none after its first failure;
        different aggregates' events may be handed over concurrently. Only the events
        before the first failure (in commit order) are marked: any sent after it go
        again. Concurrent relays never take the same row at once."""
        ...

    async def stats(self, now: datetime) -> OutboxStats: ...

    async def purge_published(self, before: datetime) -> int:
        """Delete rows published before ``before`` (retention); returns how many."""
        ...


class EventPublisher(Protocol):
    async def publish(self, event: DomainEvent) -> None:
        """Returns once the bus has accepted the event (broker confirm)."""
        ...


class OutboxSignal(Protocol):
    def notify(self) -> None:
        """Events were just committed to the outbox: a relay waiting for its next poll
        may go now. Called after the commit; never blocks, never fails."""
        ...
