"""The outbox relay: moves committed events from the outbox to the event bus.

At-least-once: a row is marked published only after the bus accepted it, so a
crash between the two republishes it, and consumers dedupe by event id.

``publish_in_aggregate_order`` is how an outbox hands a batch to the bus: waiting
for each broker confirm before sending the next event caps a relay at one event
per round trip, so a batch goes out concurrently, except that one aggregate's
events still go one after another (the next only once the previous was
confirmed), so they reach the bus in the order they were committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from hduce.application.ports import Clock, EventHandler, EventPublisher, Outbox, OutboxStats
from hduce.application.tracing import tracing
from hduce.domain.events import DomainEvent

log = logging.getLogger(__name__)


class NotAttempted(Exception):
    """An earlier event of the same aggregate failed, so this one was not sent."""


async def publish_in_aggregate_order(
    events: Sequence[DomainEvent], publish: EventHandler, *, concurrently: bool = True
) -> list[Exception | None]:
    """Publish ``events`` concurrently across aggregates, in order within each one
    (``concurrently=False``: one after another in the given order, stopping at the
    first failure).

    Returns one outcome per event, in the same order: None when the bus accepted it,
    else the error (``NotAttempted`` for the events of an aggregate after its first
    failure). The first non-None outcome is therefore always a real error; an outbox
    marks published only the events before it, so nothing after a failure is marked
    (those already sent go again on the next attempt: at least once)."""
    outcomes: list[Exception | None] = [None] * len(events)
    chains: dict[UUID, list[int]] = {}
    for index, event in enumerate(events):
        chains.setdefault(event.aggregate_id, []).append(index)

    async def chain(indexes: list[int]) -> None:
        for position, index in enumerate(indexes):
            try:
                await publish(events[index])
            except Exception as error:
                outcomes[index] = error
                for later in indexes[position + 1 :]:
                    outcomes[later] = NotAttempted()
                return

    if not concurrently:
        await chain(list(range(len(events))))  # one chain: all stop at the first failure
    elif len(chains) == 1:  # nothing to overlap (and the common case of a one-event batch)
        await chain(next(iter(chains.values())))
    else:
        await asyncio.gather(*(chain(indexes) for indexes in chains.values()))
    return outcomes


def accepted_prefix(outcomes: Sequence[Exception | None]) -> int:
    """How many leading events were accepted: those an outbox may mark published."""
    for index, outcome in enumerate(outcomes):
        if outcome is not None:
            return index
    return len(outcomes)


@dataclass(frozen=True, slots=True)
class RelaySettings:
    batch_size: int = 100
    poll_interval: float = 0.5  # seconds between polls when the outbox is empty
    max_backoff: float = 30.0  # seconds, the cap of the exponential backoff on bus errors


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        publisher: EventPublisher,
        clock: Clock,
        settings: RelaySettings = RelaySettings(),
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._clock = clock
        self._settings = settings
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Poll now instead of waiting for the interval (called after a commit)."""
        self._wake.set()

    async def drain(self) -> int:
        """Publish until the outbox is empty or the bus fails; returns how many went out."""
        total = 0
        while True:
            result = await self._outbox.relay_batch(self._settings.batch_size, self._publish)
            total += result.published
            if result.failed:
                raise RelayBlocked(total)
            if result.published < self._settings.batch_size:
                return total

    async def _publish(self, event: DomainEvent) -> None:
        # Published in the trace of the change that wrote it (its context was stored
        # with it in the outbox): the broker's publish span, and through the message
        # headers its consumers, continue that trace (ADR 0012).
        with tracing().resumed(event.trace_context):
            await self._publisher.publish(event)

    async def stats(self) -> OutboxStats:
        return await self._outbox.stats(self._clock.now())

    async def run(self) -> None:
        """Relay forever: poll, publish, back off exponentially while the bus is down.

        ``wake()`` cuts the wait short, except while backing off: a failing bus is
        not retried at the pace of the commits."""
        backoff = self._settings.poll_interval
        while True:
            # Cleared before draining: a wake during the drain (a commit it may not
            # have seen) makes the next wait return at once instead of being lost.
            self._wake.clear()
            failed = True
            try:
                await self.drain()
                backoff = self._settings.poll_interval
                failed = False
            except RelayBlocked:
                backoff = min(
                    max(backoff * 2, self._settings.poll_interval), self._settings.max_backoff
                )
                log.warning("outbox relay: event bus refused an event; retrying in %.1f s", backoff)
            except Exception:
                backoff = min(
                    max(backoff * 2, self._settings.poll_interval), self._settings.max_backoff
                )
                log.exception("outbox relay: unexpected error; retrying in %.1f s", backoff)
            if failed:
                await asyncio.sleep(backoff)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)


class RelayBlocked(Exception):
    """The bus refused an event; the rows stay in the outbox for the next attempt."""

    def __init__(self, published: int) -> None:
        super().__init__(f"event bus failed after {published} events")
        self.published = published
