"""Publisher and consumers on FastStream's in-memory test brokers, for every broker
kind: the topology's addresses, acknowledgement after the handler, retries, dead
letters (with the error and a metric), poison messages, and the AsyncAPI document."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar
from uuid import UUID

import pytest
from faststream.context import ContextRepo
from faststream.kafka import TestKafkaBroker
from faststream.nats import TestNatsBroker
from faststream.rabbit import TestRabbitBroker
from faststream.redis import TestRedisBroker

from hduce.adapters.events_codec import encode_event
from hduce.adapters.messaging.brokers import (
    EventBroker,
    build_broker,
    nats_dead_letter_stream,
    nats_stream,
    rabbit_exchange,
    rabbit_queue,
)
from hduce.adapters.messaging.consumers import (
    ATTEMPTS_HEADER,
    CONSUMER_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
    Consumers,
    RetryPolicy,
)
from hduce.adapters.messaging.documentation import render_asyncapi
from hduce.adapters.messaging.publisher import BrokerEventPublisher
from hduce.adapters.messaging.topology import BrokerKind, Topology
from hduce.application.messaging.handlers import EventConsumer, Route
from hduce.domain import events
from hduce.domain.events import DomainEvent
from tests.unit.adapters.contract import user_registered
from tests.unit.domain.builders import CAST, NOW, POLICY, book

KINDS: list[BrokerKind] = ["rabbit", "kafka", "redis", "nats"]
URLS = {
    "rabbit": "amqp://guest:guest@localhost:5672/",
    "kafka": "kafka://localhost:9092",
    "redis": "redis://localhost:6379",
    "nats": "nats://localhost:4222",
}
TEST_BROKERS: dict[str, Any] = {
    "rabbit": TestRabbitBroker,
    "kafka": TestKafkaBroker,
    "redis": TestRedisBroker,
    "nats": TestNatsBroker,
}
REACTS_TO = frozenset({events.APPOINTMENT_REQUESTED, events.APPOINTMENT_CANCELLED})


class Recorder:
    """A handler that records the events it got and fails as told."""

    consumer: ClassVar[str] = "recorder"

    def __init__(self) -> None:
        self.calls: list[UUID] = []
        #: event id -> how many more calls fail
        self.failures: dict[UUID, int] = {}

    async def __call__(self, event: DomainEvent) -> None:
        self.calls.append(event.id)
        if self.failures.get(event.id, 0) > 0:
            self.failures[event.id] -= 1
            raise ConnectionError("database down")


class Metrics:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, ...]] = Counter()
        self.started_events: list[tuple[str, UUID]] = []

    def started(self, consumer: str, event: DomainEvent) -> None:
        self.started_events.append((consumer, event.id))

    def processed(self, consumer: str, event: DomainEvent) -> None:
        self.counts["processed", consumer] += 1

    def failed(self, consumer: str, event: DomainEvent) -> None:
        self.counts["failed", consumer] += 1

    def dead_lettered(self, consumer: str, reason: str) -> None:
        self.counts["dead", consumer, reason] += 1


class Setup:
    def __init__(self, kind: BrokerKind) -> None:
        self.kind = kind
        self.topology = Topology(prefix="unit")
        self.broker = EventBroker(
            kind,
            build_broker(kind, URLS[kind], servers=("localhost:9092",)),
            self.topology,
            [Route(Recorder, REACTS_TO)],
            declare=False,
        )
        self.handler = Recorder()
        self.metrics = Metrics()
        self.resolved = 0

        async def resolve(handler: type[EventConsumer], context: ContextRepo) -> EventConsumer:
            assert handler is Recorder
            self.resolved += 1
            return self.handler

        Consumers(self.broker, resolve, self.metrics, RetryPolicy(3, first_delay=0.001)).register()
        self.publisher = BrokerEventPublisher(self.broker)
        self.dead_letters: list[tuple[bytes, dict[str, Any]]] = []
        self._capture_dead_letters()

    def _capture_dead_letters(self) -> None:
        target = self.topology.dead_letters(self.kind, "recorder")
        fs: Any = self.broker.broker

        async def capture(body: Any) -> None: ...

        async def keep(message: Any) -> bytes:
            self.dead_letters.append((message.body, dict(message.headers)))
            return message.body

        options: dict[str, Any] = {"decoder": keep}
        if self.kind == "rabbit":
            fs.subscriber(rabbit_queue(target), **options)(capture)
        elif self.kind == "kafka":
            fs.subscriber(target, **options)(capture)
        elif self.kind == "redis":
            fs.subscriber(stream=target, **options)(capture)
        else:
            stream = nats_dead_letter_stream(self.topology)
            fs.subscriber(target, stream=stream, **options)(capture)

    async def publish_raw(self, body: bytes, event_type: str) -> None:
        """A message that did not come from the publisher (a poison message)."""
        fs: Any = self.broker.broker
        if self.kind == "rabbit":
            await fs.publish(body, exchange=rabbit_exchange(self.topology), routing_key=event_type)
        elif self.kind == "kafka":
            await fs.publish(body, topic=self.topology.topic(event_type))
        elif self.kind == "redis":
            await fs.publish(body, stream=self.topology.topic(event_type))
        else:
            stream = nats_stream(self.topology).name
            await fs.publish(body, subject=self.topology.subject(event_type), stream=stream)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with TEST_BROKERS[self.kind](self.broker.broker):
            yield


def appointment_events() -> tuple[DomainEvent, DomainEvent, DomainEvent]:
    appointment = book(by="patient")
    [requested] = appointment.collect_events()
    appointment.cancel(actor=CAST.patient, now=NOW, reason="better", policy=POLICY)
    [cancelled] = appointment.collect_events()
    error = book(by="patient")
    error.collect_events()
    error.enter_in_error(actor=CAST.admin, now=NOW, reason="duplicate record")
    [voided] = error.collect_events()
    return requested, cancelled, voided


@pytest.fixture(params=KINDS)
def setup(request: pytest.FixtureRequest) -> Setup:
    return Setup(request.param)


async def test_a_published_event_reaches_its_handler_once(setup: Setup) -> None:
    requested, cancelled, _ = appointment_events()

    async with setup.running():
        await setup.publisher.publish(requested)
        await setup.publisher.publish(cancelled)

    assert setup.handler.calls == [requested.id, cancelled.id]
    assert setup.resolved == 2  # resolved per message
    assert setup.metrics.counts == {("processed", "recorder"): 2}
    assert setup.metrics.started_events == [("recorder", requested.id), ("recorder", cancelled.id)]
    assert setup.dead_letters == []


async def test_types_the_handler_does_not_react_to_are_skipped(setup: Setup) -> None:
    _, _, voided = appointment_events()

    async with setup.running():
        await setup.publisher.publish(voided)
        await setup.publisher.publish(user_registered())

    assert setup.handler.calls == []
    assert setup.dead_letters == []


async def test_a_transient_failure_is_retried_then_succeeds(setup: Setup) -> None:
    requested, _, _ = appointment_events()
    setup.handler.failures[requested.id] = 2

    async with setup.running():
        await setup.publisher.publish(requested)

    assert setup.handler.calls == [requested.id] * 3
    assert setup.metrics.counts == {("failed", "recorder"): 2, ("processed", "recorder"): 1}
    assert setup.dead_letters == []


async def test_after_the_last_attempt_the_message_goes_to_the_dead_letters(setup: Setup) -> None:
    requested, cancelled, _ = appointment_events()
    setup.handler.failures[requested.id] = 99

    async with setup.running():
        await setup.publisher.publish(requested)
        await setup.publisher.publish(cancelled)

    assert setup.handler.calls == [requested.id] * 3 + [cancelled.id]
    [(body, headers)] = setup.dead_letters
    assert body == encode_event(requested)
    assert headers[CONSUMER_HEADER] == "recorder"
    assert headers[REASON_HEADER] == "failed"
    assert headers[ATTEMPTS_HEADER] == "3"
    assert headers[ERROR_HEADER] == "ConnectionError: database down"
    assert setup.metrics.counts[("dead", "recorder", "failed")] == 1
    assert setup.metrics.counts[("processed", "recorder")] == 1


@pytest.mark.parametrize("poison", [b"not json", b'{"type": "appointment.requested"}'])
async def test_a_poison_message_goes_straight_to_the_dead_letters(
    setup: Setup, poison: bytes
) -> None:
    requested, _, _ = appointment_events()

    async with setup.running():
        await setup.publish_raw(poison, events.APPOINTMENT_REQUESTED)
        await setup.publisher.publish(requested)

    assert setup.handler.calls == [requested.id]  # the next message is handled
    [(body, headers)] = setup.dead_letters
    assert body == poison
    assert headers[REASON_HEADER] == "malformed"
    assert headers[ATTEMPTS_HEADER] == "0"
    assert setup.metrics.counts[("dead", "recorder", "malformed")] == 1


def test_the_asyncapi_document_shows_every_event_and_the_handler(setup: Setup) -> None:
    json_text = render_asyncapi(
        setup.broker.broker, title="HDUCE events", version="1", description="test"
    )
    document = json.loads(json_text)

    operations = document["operations"].values()
    sent = {op["channel"]["$ref"] for op in operations if op["action"] == "send"}
    received = [op for op in operations if op["action"] == "receive"]
    assert len(sent) == len(events.EVENT_TYPES)
    assert received
    schemas = document["components"]["schemas"]
    assert "AppointmentCancelledEvent" in schemas
    assert "rescheduled_to" in schemas["AppointmentCancelled"]["properties"]
    assert document["info"]["title"] == "HDUCE events"


class StubMessage:
    """Just what ``Consumers.handle`` uses of a FastStream message."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.raw_message = None
        self.answers: list[str] = []

    async def ack(self) -> None:
        self.answers.append("ack")

    async def nack(self) -> None:
        self.answers.append("nack")


async def test_a_message_that_cannot_be_dead_lettered_goes_back_to_the_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = Setup("rabbit")
    requested, _, _ = appointment_events()
    setup.handler.failures[requested.id] = 99
    [subscription] = setup.broker.subscriptions()
    consumers = Consumers(
        setup.broker,
        lambda *_: _resolved(setup.handler),
        setup.metrics,
        RetryPolicy(2, first_delay=0.001),
    )

    async def broker_down(*_: object) -> None:
        raise ConnectionError("broker gone")

    monkeypatch.setattr(consumers, "_publish_dead_letter", broker_down)
    monkeypatch.setattr("hduce.adapters.messaging.consumers.REQUEUE_PAUSE_SECONDS", 0.0)
    message = StubMessage(encode_event(requested))

    await consumers.handle(subscription, Recorder, message, ContextRepo())  # type: ignore[arg-type]

    assert message.answers == ["nack"]  # never acknowledged: it comes again
    assert ("dead", "recorder", "failed") not in setup.metrics.counts


async def _resolved(handler: Recorder) -> EventConsumer:
    return handler
