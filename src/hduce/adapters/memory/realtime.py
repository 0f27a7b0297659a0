"""In-process realtime fan-out (the ``RealtimeFanout`` port, embedded default).

``publish(user_id, message)`` puts a copy of the message on the queue of every
open subscription of that user, and of nobody else. The SSE endpoint opens a
subscription per connection::

    async with fanout.subscribe(user_id) as subscription:
        async for message in subscription:          # or: await subscription.get(timeout=15)
            ...

A slow reader never blocks publishers: past ``max_queue`` waiting messages the
oldest one is dropped (and counted in ``dropped``). ``close()`` ends every
subscription (shutdown), which ends the ``async for`` loops.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from contextlib import suppress
from types import TracebackType
from typing import Any, Self
from uuid import UUID

Message = dict[str, Any]

_CLOSED: Message = {"__closed__": True}


class RealtimeSubscription:
    """One listener of one user's messages: an async context manager and iterator."""

    def __init__(self, fanout: InMemoryRealtimeFanout, user_id: UUID, max_queue: int) -> None:
        self.user_id = user_id
        self.dropped = 0
        self._fanout = fanout
        self._queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=max_queue)
        self._open = False
        self._closed = False

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
        if not self._open and not self._closed:
            self._open = True
            self._fanout._register(self)

    def close(self) -> None:
        """Stop receiving; a reader waiting in ``get`` or ``async for`` wakes up and ends."""
        if self._closed:
            return
        self._closed = True
        if self._open:
            self._fanout._unregister(self)
        self._put(_CLOSED)

    @property
    def closed(self) -> bool:
        return self._closed and self._queue.empty()

    def _put(self, message: Message) -> None:
        while True:
            try:
                self._queue.put_nowait(message)
                return
            except asyncio.QueueFull:
                with suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()
                    self.dropped += 1

    async def get(self, timeout: float | None = None) -> Message | None:  # noqa: ASYNC109
        """The next message; None when ``timeout`` passed first or the subscription ended."""
        if self.closed:
            return None
        try:
            if timeout is None:
                message = await self._queue.get()
            else:
                message = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if message is _CLOSED:
            return None
        return message

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
            subscription._put(copy.deepcopy(message))

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
