"""Delivery ports: email, SMS and the realtime fan-out to open streams."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol
from uuid import UUID

# ------------------------------------------------------------------ delivery channels


class EmailSender(Protocol):
    async def send(self, *, to: str, subject: str, body: str) -> None: ...


class SmsSender(Protocol):
    async def send(self, *, to: str, body: str) -> None: ...


class RealtimeFanout(Protocol):
    """Live stream to connected clients (SSE), whichever process they are connected to."""

    async def publish(self, user_id: UUID, message: dict[str, Any]) -> None:
        """Hand ``message`` to every open subscription of ``user_id``. Best effort: a
        transport failure is logged, not raised (the notification is stored already,
        and a stream that misses it gets it back from the inbox on resume)."""
        ...


# ------------------------------------------------------------------ realtime subscriptions
# (appointments & notifications HTTP: the SSE stream of /notifications/stream)


class RealtimeSubscriber(Protocol):
    """The listening side of ``RealtimeFanout``: one live subscription per open stream."""

    def subscribe(
        self, user_id: UUID
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Entering returns once the subscription is live: everything published from
        then on is received (nothing published before). The iterator yields the
        messages in order and ends when the fan-out shuts down, or when it can no longer
        promise that nothing is missing (the reader fell too far behind, the connection
        to the other processes was lost): the stream then ends and the client resumes
        from the stored inbox. Leaving stops the subscription."""
        ...


class StreamSlots(Protocol):
    """A cap on the streams one person holds open at once, as leases that renew.

    A lease not renewed within its ``ttl_seconds`` frees its slot by itself, so a
    process that died without releasing does not lock anyone out for long."""

    async def acquire(
        self, user_id: UUID, stream_id: UUID, *, limit: int, ttl_seconds: float
    ) -> bool:
        """Take a slot for ``stream_id``; False when ``limit`` live leases exist already."""
        ...

    async def renew(self, user_id: UUID, stream_id: UUID, *, ttl_seconds: float) -> None:
        """Extend the lease (re-taking it, past the limit if need be, if it had lapsed)."""
        ...

    async def release(self, user_id: UUID, stream_id: UUID) -> None: ...
