"""Live notifications across processes on Redis: the fan-out (``RealtimeFanout`` and
``RealtimeSubscriber``) over pub/sub, one channel per user, and the stream cap
(``StreamSlots``) as leases in a sorted set per user.

A worker publishes with one ``PUBLISH`` on the shared client: nothing to start,
no HTTP app needed. An API process keeps one pub/sub connection, subscribed to the
channels of the users who have a stream open in it, and one reader task that
hands each message to that user's local subscriptions.

Plain redis-py rather than Litestar's channels plugin (``ChannelsPlugin`` with
``RedisChannelsPubSubBackend``): that backend's reader drops the server's subscribe
confirmations, and its plugin's reader task dies silently when the connection
fails. A stream needs both: it reads the stored backlog only once its subscription
is confirmed live (else a notification stored and published in between would be
missed), and it must end, not hang with keep-alives, when messages may have been
lost. Lost how: pub/sub keeps nothing for a disconnected subscriber, and redis-py
reconnects and resubscribes by itself. A confirmation for a channel that was live
already is that reconnect, so its subscriptions end and their clients resume from
the inbox (``Last-Event-ID``); a connection that cannot be restored ends them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any, Final, Self
from uuid import UUID

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from hduce.adapters.live_queue import LiveQueue, Message
from hduce.adapters.redis.client import DEFAULT_PREFIX

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder(dict[str, Any]).decode


class RedisSubscription(LiveQueue):
    """One listener of one user's messages: an async context manager and iterator."""

    def __init__(self, fanout: RedisRealtimeFanout, user_id: UUID, max_queue: int) -> None:
        super().__init__(max_queue)
        self.user_id = user_id
        self.channel = fanout.channel(user_id)
        self._fanout = fanout

    async def __aenter__(self) -> Self:
        await self._fanout._attach(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end()
        await self._fanout._detach(self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        message = await self.get()
        if message is None:
            raise StopAsyncIteration
        return message


class RedisRealtimeFanout:
    """Pub/sub fan-out; ``close()`` it on shutdown (ends every local subscription)."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = DEFAULT_PREFIX + "live:",
        max_queue: int = 256,
        subscribe_timeout: float = 5.0,
        poll_seconds: float = 1.0,
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._redis = redis
        self._prefix = prefix
        self._max_queue = max_queue
        self._subscribe_timeout = subscribe_timeout
        self._poll_seconds = poll_seconds
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._local: dict[bytes, set[RedisSubscription]] = {}
        self._live: set[bytes] = set()  # confirmed by the server
        self._confirmations: dict[bytes, asyncio.Future[None]] = {}
        self._leaving: set[asyncio.Task[None]] = set()

    def channel(self, user_id: UUID) -> bytes:
        return f"{self._prefix}{user_id}".encode()

    # ------------------------------------------------------------------ publishing

    async def publish(self, user_id: UUID, message: dict[str, Any]) -> None:
        try:
            await self._redis.publish(self.channel(user_id), msgspec.json.encode(message))
        except RedisError:
            # The notification is stored; a stream that misses it replays it on resume.
            log.warning("realtime: could not publish to Redis", exc_info=True)

    # ------------------------------------------------------------------ subscribing

    def subscribe(self, user_id: UUID) -> RedisSubscription:
        """A subscription to ``user_id``'s messages; live once entered (``async with``)."""
        return RedisSubscription(self, user_id, self._max_queue)

    def subscriber_count(self, user_id: UUID | None = None) -> int:
        if user_id is not None:
            return len(self._local.get(self.channel(user_id), ()))
        return sum(len(subs) for subs in self._local.values())

    async def _attach(self, subscription: RedisSubscription) -> None:
        channel = subscription.channel
        async with self._lock:
            self._local.setdefault(channel, set()).add(subscription)
            if channel in self._live:
                return
            confirmed = self._confirmations.get(channel)
            if confirmed is None:
                confirmed = asyncio.get_running_loop().create_future()
                self._confirmations[channel] = confirmed
                try:
                    pubsub = self._pubsub or self._redis.pubsub()
                    self._pubsub = pubsub
                    await pubsub.subscribe(channel)
                except BaseException:
                    self._confirmations.pop(channel, None)
                    self._forget(subscription)
                    raise
                if self._reader is None or self._reader.done():
                    self._reader = asyncio.create_task(self._read(pubsub), name="realtime-redis")
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), self._subscribe_timeout)
        except BaseException:
            await self._detach(subscription)
            raise

    async def _detach(self, subscription: RedisSubscription) -> None:
        channel = subscription.channel
        async with self._lock:
            if not self._forget(subscription) or channel in self._local:
                return
            self._live.discard(channel)
            pending = self._confirmations.pop(channel, None)
            if pending is not None and not pending.done():
                pending.cancel()
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(channel)
                except RedisError:
                    log.warning("realtime: could not unsubscribe", exc_info=True)

    def _forget(self, subscription: RedisSubscription) -> bool:
        """Drop it from the local table; False when it was not there (already ended)."""
        subscriptions = self._local.get(subscription.channel)
        if subscriptions is None or subscription not in subscriptions:
            return False
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._local[subscription.channel]
        return True

    # ------------------------------------------------------------------ the reader

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=self._poll_seconds)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning(
                "realtime: lost the Redis pub/sub connection; open streams end and resume",
                exc_info=True,
            )
            await self._end_all(ConnectionError("the Redis pub/sub connection was lost"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], message["channel"]
        if kind == "message":
            try:
                payload = _decode(message["data"])
            except msgspec.DecodeError:
                log.warning("realtime: ignored a malformed message on %r", channel)
                return
            for subscription in list(self._local.get(channel, ())):
                subscription.put(payload)
        elif kind == "subscribe":
            if channel in self._live:
                # redis-py reconnected and resubscribed: what was published meanwhile
                # never reached us, so these subscriptions cannot go on as if complete.
                for subscription in self._local.pop(channel, set()):
                    subscription.end()
                self._live.discard(channel)
                self._resubscribed(channel)
                return
            confirmed = self._confirmations.pop(channel, None)
            if confirmed is not None and not confirmed.done():
                self._live.add(channel)
                confirmed.set_result(None)

    def _resubscribed(self, channel: bytes) -> None:
        # Nobody local listens on it any more; leave the channel (in the background:
        # this runs inside the reader, which must not wait for its own replies).
        async def leave() -> None:
            async with self._lock:
                if channel not in self._local and self._pubsub is not None:
                    with contextlib.suppress(RedisError):
                        await self._pubsub.unsubscribe(channel)

        task = asyncio.create_task(leave())
        self._leaving.add(task)
        task.add_done_callback(self._leaving.discard)

    async def _end_all(self, error: BaseException) -> None:
        async with self._lock:
            for subscriptions in self._local.values():
                for subscription in subscriptions:
                    subscription.end()
            self._local.clear()
            self._live.clear()
            for confirmed in self._confirmations.values():
                if not confirmed.done():
                    confirmed.set_exception(error)
            self._confirmations.clear()
            pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def close(self) -> None:
        """End every subscription and the reader (on shutdown)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await self._end_all(ConnectionError("the realtime fan-out is shut down"))


# ------------------------------------------------------------------ the stream cap

_LEASE: Final = """
local key = KEYS[1]
local member = ARGV[1]
local limit = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if limit >= 0 and not redis.call('ZSCORE', key, member) then
  if redis.call('ZCARD', key) >= limit then
    return 0
  end
end
redis.call('ZADD', key, now + ttl, member)
redis.call('PEXPIRE', key, ttl)
return 1
"""


class RedisStreamSlots:
    """``StreamSlots`` for every process at once: a sorted set per user of stream ids
    scored by their lease's expiry (Redis server time, so hosts' clocks may differ)."""

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX + "streams:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script: Any = redis.register_script(_LEASE)

    async def acquire(
        self, user_id: UUID, stream_id: UUID, *, limit: int, ttl_seconds: float
    ) -> bool:
        return await self._lease(user_id, stream_id, max(limit, 0), ttl_seconds)

    async def renew(self, user_id: UUID, stream_id: UUID, *, ttl_seconds: float) -> None:
        await self._lease(user_id, stream_id, -1, ttl_seconds)

    async def release(self, user_id: UUID, stream_id: UUID) -> None:
        await self._redis.zrem(self._key(user_id), str(stream_id))

    async def held(self, user_id: UUID) -> int:
        key = self._key(user_id)
        seconds, micros = await self._redis.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        return int(await self._redis.zcount(key, f"({now_ms}", "+inf"))

    async def _lease(self, user_id: UUID, stream_id: UUID, limit: int, ttl: float) -> bool:
        ttl_ms = max(1, int(ttl * 1000))
        taken = await self._script(keys=[self._key(user_id)], args=[str(stream_id), limit, ttl_ms])
        return int(taken) == 1

    def _key(self, user_id: UUID) -> str:
        return f"{self._prefix}{user_id}"
