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
    """Live stream to connected clients (SSE)."""

    async def publish(self, user_id: UUID, message: dict[str, Any]) -> None: ...


# ------------------------------------------------------------------ realtime subscriptions
# (appointments & notifications HTTP: the SSE stream of /notifications/stream)


class RealtimeSubscriber(Protocol):
    """The listening side of ``RealtimeFanout``: one live subscription per open stream."""

    def subscribe(
        self, user_id: UUID
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Entering starts receiving ``user_id``'s messages (nothing published before);
        the iterator yields them in order and ends when the fan-out shuts down.
        Leaving stops the subscription."""
        ...
