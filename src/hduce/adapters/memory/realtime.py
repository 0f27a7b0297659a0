"""In-process realtime fan-out (the ``RealtimeFanout`` and ``RealtimeSubscriber``
ports, embedded default) and the per-user stream cap of one process (``StreamSlots``).

``publish(user_id, message)`` puts a copy of the message on the queue of every
open subscription of that user, and of nobody else. The SSE endpoint opens a
subscription per connection::

    async with fanout.subscribe(user_id) as subscription:
        async for message in subscription:          # or: await subscription.get(timeout=15)
            ...

A slow reader never blocks publishers: past ``max_queue`` waiting messages its
subscription ends (``overflowed``; see ``hduce.adapters.live_queue``). ``close()``
ends every subscription (shutdown), which ends the ``async for`` loops.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from hduce.adapters.live_queue import LiveQueue, Message


class RealtimeSubscription(LiveQueue):
    """One listener of one user's messages: an async context manager and iterator."""

    def __init__(self, fanout: InMemoryRealtimeFanout, user_id: UUID, max_queue: int) -> None:
        super().__init__(max_queue)
        self.user_id = user_id
        self._fanout = fanout
        self._open = False

    async def __aenter__(self) -> Self:
        self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Start receiving (``async with`` does this)."""
        if not self._open and not self.ended:
            self._open = True
            self._fanout._register(self)

    def close(self) -> None:
        """Stop receiving; a reader waiting in ``get`` or ``async for`` wakes up and ends."""
        if self._open:
            self._open = False
            self._fanout._unregister(self)
        self.end()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        message = await self.get()
        if message is None:
            raise StopAsyncIteration
        return message


class InMemoryRealtimeFanout:
    def __init__(self, *, max_queue: int = 256) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._max_queue = max_queue
        self._subscriptions: dict[UUID, set[RealtimeSubscription]] = {}

    def subscribe(self, user_id: UUID) -> RealtimeSubscription:
        """A subscription to ``user_id``'s messages; it receives once opened (``async with``)."""
        return RealtimeSubscription(self, user_id, self._max_queue)

    async def publish(self, user_id: UUID, message: dict[str, Any]) -> None:
        for subscription in list(self._subscriptions.get(user_id, ())):
            subscription.put(copy.deepcopy(message))

    def subscriber_count(self, user_id: UUID | None = None) -> int:
        if user_id is not None:
            return len(self._subscriptions.get(user_id, ()))
        return sum(len(subs) for subs in self._subscriptions.values())

    def close(self) -> None:
        """End every open subscription (on shutdown)."""
        for subscription in list(self._all()):
            subscription.close()

    def _all(self) -> Iterator[RealtimeSubscription]:
        for subscriptions in self._subscriptions.values():
            yield from subscriptions

    def _register(self, subscription: RealtimeSubscription) -> None:
        self._subscriptions.setdefault(subscription.user_id, set()).add(subscription)

    def _unregister(self, subscription: RealtimeSubscription) -> None:
        subscriptions = self._subscriptions.get(subscription.user_id)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.user_id]


class InMemoryStreamSlots:
    """``StreamSlots`` in one process's memory: the cap holds per process (right for
    the embedded deployment, which is one process)."""

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._leases: dict[UUID, dict[UUID, float]] = {}

    async def acquire(
        self, user_id: UUID, stream_id: UUID, *, limit: int, ttl_seconds: float
    ) -> bool:
        leases = self._live(user_id)
        if stream_id not in leases and len(leases) >= limit:
            return False
        leases[stream_id] = self._now() + ttl_seconds
        self._leases[user_id] = leases
        return True

    async def renew(self, user_id: UUID, stream_id: UUID, *, ttl_seconds: float) -> None:
        self._leases.setdefault(user_id, {})[stream_id] = self._now() + ttl_seconds

    async def release(self, user_id: UUID, stream_id: UUID) -> None:
        leases = self._leases.get(user_id)
        if leases is not None:
            leases.pop(stream_id, None)
            if not leases:
                del self._leases[user_id]

    def held(self, user_id: UUID) -> int:
        return len(self._live(user_id))

    def _live(self, user_id: UUID) -> dict[UUID, float]:
        now = self._now()
        return {
            stream: expiry
            for stream, expiry in self._leases.get(user_id, {}).items()
            if expiry > now
        }
