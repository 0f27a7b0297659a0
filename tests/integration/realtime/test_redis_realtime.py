"""The Redis fan-out and stream cap against a real Redis: the contracts of the
in-memory adapters, plus what only a network can do (other processes, lost
connections)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from hduce.adapters.redis import create_redis
from hduce.adapters.redis.realtime import RedisRealtimeFanout, RedisStreamSlots
from hduce.domain.ids import uuid7
from tests.unit.adapters.contract import RealtimeFanoutContract, StreamSlotsContract


class TestRedisFanout(RealtimeFanoutContract):
    pass


class TestRedisStreamSlots(StreamSlotsContract):
    pass


async def test_a_message_published_by_another_process_reaches_the_subscriber(
    fanout: RedisRealtimeFanout, redis_url: str, prefix: str
) -> None:
    """The worker side: its own client and fan-out, nothing started, one PUBLISH."""
    user = uuid7()
    worker_client = create_redis(redis_url)
    try:
        worker = RedisRealtimeFanout(worker_client, prefix=prefix + "live:")
        async with fanout.subscribe(user) as subscription:
            await worker.publish(user, {"id": "n1", "title": "Hello"})
            await worker.publish(uuid7(), {"id": "n2", "title": "someone else's"})
            assert await subscription.get(timeout=2) == {"id": "n1", "title": "Hello"}
            assert await subscription.get(timeout=0.2) is None
    finally:
        await worker_client.aclose()
    assert fanout.subscriber_count() == 0


async def test_subscriptions_of_one_user_share_one_channel_until_the_last_leaves(
    fanout: RedisRealtimeFanout, redis: Redis, prefix: str
) -> None:
    user = uuid7()
    channel = fanout.channel(user)
    async with fanout.subscribe(user) as first:
        async with fanout.subscribe(user) as second:
            assert (await redis.pubsub_numsub(channel))[0][1] == 1
            await fanout.publish(user, {"n": 1})
            assert await second.get(timeout=2) == {"n": 1}
        await fanout.publish(user, {"n": 2})
        assert await first.get(timeout=2) == {"n": 1}
        assert await first.get(timeout=2) == {"n": 2}
    await asyncio.sleep(0.1)
    assert (await redis.pubsub_numsub(channel))[0][1] == 0


async def test_a_lost_connection_ends_the_subscriptions_and_new_ones_work(
    fanout: RedisRealtimeFanout, redis: Redis
) -> None:
    """Pub/sub keeps nothing for a disconnected subscriber: whatever the reconnection
    does, the subscription must end (its stream resumes from the inbox), not go on
    silently missing messages."""
    user = uuid7()
    async with fanout.subscribe(user) as subscription:
        await fanout.publish(user, {"n": 1})
        assert await subscription.get(timeout=2) == {"n": 1}
        await redis.client_kill_filter(_type="pubsub")
        async with asyncio.timeout(10):
            while await subscription.get(timeout=1) is not None:
                pass
        assert subscription.closed
    async with fanout.subscribe(user) as again:
        await fanout.publish(user, {"n": 2})
        assert await again.get(timeout=2) == {"n": 2}


async def test_close_ends_every_subscription(fanout: RedisRealtimeFanout) -> None:
    user = uuid7()
    async with fanout.subscribe(user) as subscription:
        await fanout.close()
        assert await subscription.get(timeout=1) is None


async def test_leases_leave_no_key_behind(
    stream_slots: RedisStreamSlots, redis: Redis, prefix: str
) -> None:
    user, stream = uuid7(), uuid7()
    assert await stream_slots.acquire(user, stream, limit=1, ttl_seconds=30)
    assert await stream_slots.held(user) == 1
    assert 0 < await redis.pttl(f"{prefix}streams:{user}") <= 30_000
    await stream_slots.release(user, stream)
    assert await stream_slots.held(user) == 0
    assert not await redis.exists(f"{prefix}streams:{user}")


async def test_a_silent_reconnection_by_redis_py_ends_the_subscriptions_too(
    fanout: RedisRealtimeFanout,
) -> None:
    """redis-py may reconnect a dropped pub/sub connection by itself and subscribe
    again; the second confirmation of a live channel gives that away. (Sent here by
    hand, on the fan-out's own connection: the server answers exactly as then.)"""
    user = uuid7()
    async with fanout.subscribe(user) as subscription:
        pubsub = fanout._pubsub
        assert pubsub is not None
        await pubsub.execute_command("SUBSCRIBE", fanout.channel(user))
        async with asyncio.timeout(10):
            while await subscription.get(timeout=1) is not None:
                pass
        assert subscription.closed and not subscription.overflowed
    async with fanout.subscribe(user) as again:
        await fanout.publish(user, {"n": 2})
        assert await again.get(timeout=2) == {"n": 2}
