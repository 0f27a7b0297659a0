"""The consumers against the real brokers, in process: a stop lets the message being
handled finish and acknowledges it (nothing comes back after a restart), and a
handler that keeps failing sends its message to the dead letters with the error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar
from uuid import UUID

import pytest
from faststream.context import ContextRepo
from faststream.nats import NatsBroker
from faststream.redis import RedisBroker

from hduce.adapters.messaging.brokers import EventBroker, build_broker
from hduce.adapters.messaging.consumers import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
    Consumers,
    RetryPolicy,
)
from hduce.adapters.messaging.publisher import BrokerEventPublisher
from hduce.adapters.messaging.topology import BrokerKind, Topology
from hduce.application.messaging.handlers import EventConsumer, Route
from hduce.domain import events
from hduce.domain.events import DomainEvent
from tests.integration.brokers.support import RawBroker, unique_prefix
from tests.services import kafka_bootstrap_servers
from tests.unit.domain.builders import book

KINDS: list[BrokerKind] = ["rabbit", "kafka", "redis", "nats"]
URL_FIXTURES = {
    "rabbit": "rabbitmq_url",
    "kafka": "kafka_url",
    "redis": "redis_url",
    "nats": "nats_url",
}


class Slow:
    """Takes ``delay`` seconds per event, or fails every time with ``fail``."""

    consumer: ClassVar[str] = "notifications"

    def __init__(self, delay: float = 0.0, *, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.started = asyncio.Event()
        self.finished: list[UUID] = []
        self.calls = 0

    async def __call__(self, event: DomainEvent) -> None:
        self.calls += 1
        self.started.set()
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the clinic's database refused the row")
        self.finished.append(event.id)


@pytest.fixture(params=KINDS)
def broker_url(request: pytest.FixtureRequest) -> tuple[BrokerKind, str]:
    kind: BrokerKind = request.param
    return kind, request.getfixturevalue(URL_FIXTURES[kind])


def _broker(kind: BrokerKind, url: str, prefix: str, handler: Slow) -> EventBroker:
    servers = (kafka_bootstrap_servers(url),) if kind == "kafka" else ()
    broker = EventBroker(
        kind,
        build_broker(kind, url, servers=servers, graceful_timeout=10.0),
        Topology(prefix=prefix, kafka_partitions=2),
        [Route(Slow, frozenset({events.APPOINTMENT_REQUESTED}))],
    )

    async def resolve(_: type[EventConsumer], __: ContextRepo) -> EventConsumer:
        return handler

    Consumers(broker, resolve, _Uncounted(), RetryPolicy(3, first_delay=0.05)).register()
    return broker


class _Uncounted:
    def started(self, consumer: str, event: DomainEvent) -> None: ...

    def processed(self, consumer: str, event: DomainEvent) -> None: ...

    def failed(self, consumer: str, event: DomainEvent) -> None: ...

    def dead_lettered(self, consumer: str, reason: str) -> None: ...


@asynccontextmanager
async def _running(broker: EventBroker) -> AsyncIterator[EventBroker]:
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def _requested() -> DomainEvent:
    [event] = book(by="patient").collect_events()
    return event


async def test_stopping_lets_the_message_in_hand_finish_and_acknowledges_it(
    broker_url: tuple[BrokerKind, str],
) -> None:
    kind, url = broker_url
    prefix = unique_prefix()
    event = _requested()
    slow = Slow(delay=1.0)
    broker = _broker(kind, url, prefix, slow)
    await broker.start()
    try:
        await BrokerEventPublisher(broker).publish(event)
        await asyncio.wait_for(slow.started.wait(), timeout=30)
    finally:
        await broker.stop()  # while the handler sleeps

    assert slow.finished == [event.id]

    # Acknowledged: a consumer of the same group after a restart gets nothing, and
    # (Redis, NATS, which would redeliver only after a timeout) nothing is pending.
    again = Slow()
    async with _running(_broker(kind, url, prefix, again)) as restarted:
        await asyncio.sleep(3.0 if kind != "kafka" else 8.0)
        assert await _pending(restarted) == 0
    assert again.calls == 0


async def _pending(broker: EventBroker) -> int:
    [subscription] = broker.subscriptions()
    fs = broker.broker
    if isinstance(fs, RedisBroker):
        client = await fs.connect()
        info = await client.xpending(subscription.sources[0], subscription.group)
        return int(info["pending"])
    if isinstance(fs, NatsBroker):
        info = await fs.connection.jetstream().consumer_info(
            broker.topology.jetstream, subscription.group
        )
        return int(info.num_ack_pending) + int(info.num_pending)
    return 0  # RabbitMQ and Kafka redeliver at once to the restarted consumer


async def test_a_handler_that_keeps_failing_sends_the_message_to_the_dead_letters(
    broker_url: tuple[BrokerKind, str],
) -> None:
    kind, url = broker_url
    prefix = unique_prefix()
    event = _requested()
    failing = Slow(fail=True)
    async with (
        _running(_broker(kind, url, prefix, failing)) as broker,
        RawBroker(kind, url, prefix) as raw,
    ):
        await BrokerEventPublisher(broker).publish(event)
        letter = await raw.next_dead_letter()

    assert failing.calls == 3
    assert letter.headers[REASON_HEADER] == "failed"
    assert letter.headers[ATTEMPTS_HEADER] == "3"
    assert letter.headers[ERROR_HEADER] == "RuntimeError: the clinic's database refused the row"
    assert letter.headers["event-id"] == str(event.id)
