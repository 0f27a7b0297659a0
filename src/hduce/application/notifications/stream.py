"""The live stream of one person's in-app notifications (``GET /notifications/stream``).

What an open stream yields, in order:

1. ``Ready`` once subscribed to the realtime fan-out: anything published from then
   on reaches this stream.
2. With a resume position (the ``Last-Event-ID`` an SSE client sends when it
   reconnects: the id of the last notification it got), the stored in-app
   notifications after it, oldest first. They are read *after* subscribing, so a
   notification stored meanwhile is in the backlog, or arrives live, or both; one
   sent from the backlog is skipped when it comes again live. Nothing lost, nothing
   twice.
3. Each new notification as it is published, and ``KeepAlive`` after every
   ``keep_alive`` seconds of silence.
4. The end: ``Ended("session-expired")`` when the access token expires,
   ``Ended("session-revoked")`` when the session stopped being valid (logout,
   deactivated account, a reused refresh token: the session is checked again every
   ``session_check_interval`` seconds by the caller's own rule), or a bare end
   (``Ended(None)``) when the fan-out ended the subscription (shutdown, a lost
   connection, a reader too slow) or the check could not run: the client reconnects
   and resumes from the inbox.

A person holds at most ``max_per_user`` streams at once; one more is refused with
``TooManyStreams``. Each stream holds a lease (``StreamSlots``), renewed at every
session check, so the slot of a process that died frees itself after ``lease_ttl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from uuid import UUID

from hduce.application.notifications.handler import realtime_message
from hduce.application.ports import (
    Clock,
    IdGenerator,
    RealtimeSubscriber,
    StreamSlots,
    UnitOfWorkFactory,
)
from hduce.domain.errors import DomainError, PermissionDenied, RateLimited
from hduce.domain.identity import Actor

log = logging.getLogger(__name__)

SESSION_EXPIRED: Final = "session-expired"
SESSION_REVOKED: Final = "session-revoked"

#: Answers whether the session that opened the stream is still valid (False: revoked).
SessionCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    max_per_user: int = 5
    session_check_interval: float = 5.0  # seconds
    keep_alive: float = 15.0  # seconds of silence before a keep-alive
    replay_batch: int = 100  # stored notifications read per query when resuming

    @property
    def lease_ttl(self) -> float:
        """Seconds a stream's slot outlives its last renewal (a few missed checks)."""
        return max(30.0, 3 * self.session_check_interval)


class TooManyStreams(RateLimited):
    code = "too-many-streams"

    def __init__(self, limit: int, retry_after_seconds: int) -> None:
        DomainError.__init__(
            self, f"at most {limit} notification streams may be open at once; close one first"
        )
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True, slots=True)
class Ready:
    """Subscribed: whatever is published from now on will be delivered."""


@dataclass(frozen=True, slots=True)
class Delivered:
    """One notification, as ``realtime_message`` shapes it (``message["id"]`` its id)."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeepAlive:
    pass


@dataclass(frozen=True, slots=True)
class Ended:
    """The last item. ``reason`` None: nothing is wrong, the client just reconnects."""

    reason: Literal["session-expired", "session-revoked"] | None


StreamItem = Ready | Delivered | KeepAlive | Ended


class OpenNotificationStream:
    """Opens a stream for the caller, or refuses one past the cap (``TooManyStreams``)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        subscriber: RealtimeSubscriber,
        slots: StreamSlots,
        policy: StreamPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._ids = ids
        self._subscriber = subscriber
        self._slots = slots
        self._policy = policy

    async def __call__(
        self,
        actor: Actor,
        *,
        expires_at: datetime,
        still_valid: SessionCheck,
        resume_after: UUID | None = None,
    ) -> AsyncGenerator[StreamItem, None]:
        """The stream's items (see the module docstring), once a slot is taken.

        Iterate it to the end or ``aclose()`` it: that gives the slot back. A stream
        never iterated keeps its slot until the lease lapses (``lease_ttl``).
        """
        if actor.user_id is None:
            raise PermissionDenied("the system has no notification stream")
        user_id, stream_id = actor.user_id, self._ids.new_id()
        policy = self._policy
        if not await self._slots.acquire(
            user_id, stream_id, limit=policy.max_per_user, ttl_seconds=policy.lease_ttl
        ):
            raise TooManyStreams(
                policy.max_per_user, max(1, math.ceil(policy.session_check_interval))
            )
        lifetime = max((expires_at - self._clock.now()).total_seconds(), 0.0)
        return self._items(user_id, stream_id, lifetime, still_valid, resume_after)

    async def _items(
        self,
        user_id: UUID,
        stream_id: UUID,
        lifetime: float,
        still_valid: SessionCheck,
        resume_after: UUID | None,
    ) -> AsyncGenerator[StreamItem, None]:
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    live = await stack.enter_async_context(self._subscriber.subscribe(user_id))
                except Exception:
                    # The fan-out is unreachable (Redis down): end, the client retries.
                    log.warning("notification stream: could not subscribe", exc_info=True)
                    yield Ended(None)
                    return
                yield Ready()
                replayed: set[str] = set()
                if resume_after is not None:
                    async for message in self._backlog(user_id, resume_after):
                        replayed.add(message["id"])
                        yield Delivered(message)
                items = self._live(aiter(live), user_id, stream_id, lifetime, still_valid, replayed)
                async with contextlib.aclosing(items):
                    async for item in items:
                        yield item
        finally:
            await self._slots.release(user_id, stream_id)

    async def _backlog(self, user_id: UUID, after: UUID) -> AsyncIterator[dict[str, Any]]:
        while True:
            async with self._uow_factory() as uow:
                batch = await uow.notifications.list_after(
                    user_id, after, limit=self._policy.replay_batch
                )
            for notification in batch:
                yield realtime_message(notification)
            if len(batch) < self._policy.replay_batch:
                return
            after = batch[-1].id

    async def _live(
        self,
        messages: AsyncIterator[dict[str, Any]],
        user_id: UUID,
        stream_id: UUID,
        lifetime: float,
        still_valid: SessionCheck,
        replayed: set[str],
    ) -> AsyncGenerator[StreamItem, None]:
        policy = self._policy
        loop = asyncio.get_running_loop()
        now = loop.time()
        expires, next_check, next_keep_alive = (
            now + lifetime,
            now + policy.session_check_interval,
            now + policy.keep_alive,
        )
        # One pending read survives the timeouts: cancelling a read of an arbitrary
        # async iterator midway could lose a message or end the iterator.
        pending = asyncio.ensure_future(_next(messages))
        try:
            while True:
                now = loop.time()
                if now >= expires:
                    yield Ended(SESSION_EXPIRED)
                    return
                if now >= next_check:
                    valid = await self._check(user_id, stream_id, still_valid)
                    if valid is not True:
                        yield Ended(SESSION_REVOKED if valid is False else None)
                        return
                    next_check = loop.time() + policy.session_check_interval
                    continue
                if now >= next_keep_alive:
                    yield KeepAlive()
                    next_keep_alive = loop.time() + policy.keep_alive
                    continue
                wait = min(expires, next_check, next_keep_alive) - now
                done, _ = await asyncio.wait({pending}, timeout=wait)
                if not done:
                    continue
                message = pending.result()
                if message is None:  # the fan-out ended the subscription
                    yield Ended(None)
                    return
                pending = asyncio.ensure_future(_next(messages))
                message_id = str(message.get("id", ""))
                if message_id in replayed:
                    replayed.discard(message_id)  # sent from the backlog already
                    continue
                yield Delivered(message)
                next_keep_alive = loop.time() + policy.keep_alive
        finally:
            pending.cancel()

    async def _check(
        self, user_id: UUID, stream_id: UUID, still_valid: SessionCheck
    ) -> bool | None:
        """True: go on; False: the session was revoked; None: the check failed."""
        try:
            if not await still_valid():
                return False
            await self._slots.renew(user_id, stream_id, ttl_seconds=self._policy.lease_ttl)
        except Exception:
            # Fail closed, quietly: the client reconnects and authenticates afresh.
            log.warning("notification stream: session check failed; ending it", exc_info=True)
            return None
        return True


async def _next(iterator: AsyncIterator[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None
