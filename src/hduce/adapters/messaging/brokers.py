"""The FastStream broker of ``HDUCE_BROKER_URL``, and the topology it declares.

``build_broker`` picks RabbitBroker, KafkaBroker, RedisBroker or NatsBroker from the
kind. ``EventBroker`` wraps it with the topology and the handler routes, and knows
the process's lifecycle: ``prepare`` connects and declares every exchange, queue,
binding, topic, consumer group and stream (a publisher must not write to a place
no consumer group or queue exists yet, or the event would be lost for it);
``start`` also starts the subscribers; ``stop`` lets in-flight messages finish
(FastStream waits up to ``graceful_timeout``) and disconnects.

The helpers below (``rabbit_exchange``, ``kafka_topic``, ...) build the FastStream
objects of the topology's names, so the publisher, the consumers and the
declarations use identical ones (RabbitMQ refuses a queue redeclared differently).

Only the configured kind's FastStream integration and client library are imported
(inside the functions below, by kind): the four together weigh about 30 MB of
modules (redis-py alone about 17), and a process uses one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypeAlias, cast

import structlog

from hduce.adapters.messaging.documentation import description, envelope
from hduce.adapters.messaging.topology import BrokerKind, Subscription, Topology
from hduce.application.messaging.handlers import Route
from hduce.domain.events import EVENT_TYPES

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker, Topic
    from faststream.nats import JStream, NatsBroker
    from faststream.rabbit import RabbitBroker, RabbitExchange, RabbitQueue
    from faststream.redis import RedisBroker

log = structlog.get_logger(__name__)

AnyBroker: TypeAlias = "RabbitBroker | KafkaBroker | RedisBroker | NatsBroker"

#: How long ``stop`` waits for messages being handled before it gives up on them
#: (they are then redelivered: nothing was acknowledged).
GRACEFUL_TIMEOUT_SECONDS: Final = 15.0
BROKER_LOGGER: Final = logging.getLogger("hduce.broker")
#: How long JetStream remembers a message id to drop a second publish of it.
NATS_DUPLICATE_WINDOW: Final = timedelta(minutes=2)


def build_broker(
    kind: BrokerKind,
    url: str,
    *,
    servers: Sequence[str] = (),
    graceful_timeout: float = GRACEFUL_TIMEOUT_SECONDS,
    tracer_provider: Any = None,
) -> AnyBroker:
    """An unconnected FastStream broker. It logs through a standard logger (so the
    process's one log format applies) and its per-message lines ("Received",
    "Processed") at DEBUG: the consumers log what matters themselves.

    With a ``tracer_provider`` (tracing on), FastStream's telemetry middleware of the
    kind traces every publish and every message handled, and carries the trace context
    in the message headers from one to the other."""
    logs: dict[str, Any] = {
        "logger": BROKER_LOGGER,
        "log_level": logging.DEBUG,
        "middlewares": _telemetry(kind, tracer_provider),
    }
    if kind == "rabbit":
        from faststream.rabbit import RabbitBroker

        return RabbitBroker(url, graceful_timeout=graceful_timeout, **logs)
    if kind == "kafka":
        from faststream.kafka import KafkaBroker

        return KafkaBroker(
            list(servers) or url.partition("://")[2],
            graceful_timeout=graceful_timeout,
            **logs,
            client_id="hduce",
            # Wait for every in-sync replica: the outbox marks a row published on
            # this acknowledgement. (No idempotent producer: the relay already
            # republishes after a crash and consumers dedupe by event id.)
            acks="all",
        )
    if kind == "redis":
        from faststream.redis import RedisBroker

        return RedisBroker(url, graceful_timeout=graceful_timeout, **logs)
    from faststream.nats import NatsBroker

    return NatsBroker(url, graceful_timeout=graceful_timeout, **logs)


def _telemetry(kind: BrokerKind, tracer_provider: Any) -> tuple[Any, ...]:
    if tracer_provider is None:
        return ()  # tracing off: FastStream's OpenTelemetry modules stay unloaded
    middleware: Any
    if kind == "rabbit":
        from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware as middleware
    elif kind == "kafka":
        from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware as middleware
    elif kind == "redis":
        from faststream.redis.opentelemetry import RedisTelemetryMiddleware as middleware
    else:
        from faststream.nats.opentelemetry import NatsTelemetryMiddleware as middleware
    return (middleware(tracer_provider=tracer_provider),)


# ---------------------------------------------------------------- topology objects


def rabbit_exchange(topology: Topology) -> RabbitExchange:
    from faststream.rabbit import ExchangeType, RabbitExchange

    return RabbitExchange(topology.exchange, type=ExchangeType.TOPIC, durable=True)


def rabbit_queue(name: str, routing_key: str = "") -> RabbitQueue:
    from faststream.rabbit import RabbitQueue

    return RabbitQueue(name, durable=True, routing_key=routing_key)


def kafka_topic(topology: Topology, name: str) -> Topic:
    from faststream.kafka import Topic

    # Declared by ``EventBroker.prepare``, not by each subscriber.
    return Topic(name, num_partitions=topology.kafka_partitions, declare=False)


def nats_stream(topology: Topology) -> JStream:
    from faststream.nats import JStream

    return JStream(
        topology.jetstream,
        subjects=[topology.subjects],
        duplicate_window=NATS_DUPLICATE_WINDOW.total_seconds(),
        declare=False,
    )


def nats_dead_letter_stream(topology: Topology) -> JStream:
    from faststream.nats import JStream

    return JStream(
        topology.dead_letter_jetstream,
        subjects=[topology.dead_letter_subjects],
        duplicate_window=NATS_DUPLICATE_WINDOW.total_seconds(),
        declare=False,
    )


# ---------------------------------------------------------------- the broker of a process


class EventBroker:
    """A FastStream broker with HDUCE's topology (see ``topology``): one publisher
    object per event type (its address, and its message in the AsyncAPI document),
    and the subscriptions of the handler ``routes``."""

    def __init__(
        self,
        kind: BrokerKind,
        broker: AnyBroker,
        topology: Topology,
        routes: Sequence[Route],
        *,
        declare: bool = True,
    ) -> None:
        """``declare=False``: the topology exists already (an operator provisioned it,
        or FastStream's test broker stands in for the server); only connect."""
        self.kind: BrokerKind = kind
        self.declare = declare
        self.broker = broker
        self.topology = topology
        self.routes = tuple(routes)
        # Registered now, before any start: FastStream sets publishers up when the
        # broker starts.
        self._publishers = {t: _publisher(self, t) for t in sorted(EVENT_TYPES)}
        self._prepared = False
        self._lock = asyncio.Lock()

    def publisher_for(self, event_type: str) -> Any:
        """The FastStream publisher of ``event_type``."""
        return self._publishers[event_type]

    def subscriptions(self) -> list[Subscription]:
        """Every (handler, source) pair of the routes, on this broker."""
        return [
            subscription
            for route in self.routes
            for subscription in self.topology.subscriptions(
                self.kind, route.handler.consumer, route.event_types
            )
        ]

    async def prepare(self) -> None:
        """Connect and declare the topology (once; later calls return at once)."""
        async with self._lock:
            if self._prepared:
                return
            await self.broker.connect()
            if self.declare:
                await _DECLARE[self.kind](self)
            self._prepared = True
            log.info("broker ready", broker=self.kind, prefix=self.topology.prefix)

    async def connect(self) -> None:
        """Connect, declaring nothing (a no-op while connected)."""
        async with self._lock:
            await self.broker.connect()

    async def start(self) -> None:
        """``prepare``, then start consuming."""
        await self.prepare()
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()
        self._prepared = False


def _publisher(target: EventBroker, event_type: str) -> Any:
    broker, topology = target.broker, target.topology
    documented: dict[str, Any] = {
        "title": f"{event_type}:Publish",
        "description": description(event_type),
        "schema": envelope(event_type),
    }
    if target.kind == "rabbit":
        return cast("RabbitBroker", broker).publisher(
            exchange=rabbit_exchange(topology),
            routing_key=topology.routing_key(event_type),
            # Survives a RabbitMQ restart once confirmed.
            persist=True,
            # A type no handler reacts to has no queue bound; RabbitMQ drops it,
            # which is what nothing-reacts means.
            mandatory=False,
            **documented,
        )
    if target.kind == "kafka":
        return cast("KafkaBroker", broker).publisher(topology.topic(event_type), **documented)
    if target.kind == "redis":
        return cast("RedisBroker", broker).publisher(
            stream=topology.topic(event_type), **documented
        )
    return cast("NatsBroker", broker).publisher(
        topology.subject(event_type), stream=nats_stream(topology), **documented
    )


async def _declare_rabbit(target: EventBroker) -> None:
    broker = cast("RabbitBroker", target.broker)
    exchange = await broker.declare_exchange(rabbit_exchange(target.topology))
    for subscription in target.subscriptions():
        (name,) = subscription.sources
        queue = await broker.declare_queue(rabbit_queue(name))
        for routing_key in subscription.bindings:
            await queue.bind(exchange, routing_key=routing_key)
        await broker.declare_queue(rabbit_queue(subscription.dead_letters))


async def _declare_kafka(target: EventBroker) -> None:
    broker = cast("KafkaBroker", target.broker)
    topology = target.topology
    names = {*topology.topics(), *(s.dead_letters for s in target.subscriptions())}
    topics = [kafka_topic(topology, name) for name in sorted(names)]
    for result in await broker.config.admin.create_topics(topics):
        if result.error is not None:
            raise result.error


async def _declare_redis(target: EventBroker) -> None:
    from redis.exceptions import ResponseError

    broker = cast("RedisBroker", target.broker)
    client = await broker.connect()
    for subscription in target.subscriptions():
        try:
            # From the stream's start ("0"): events written before any worker of
            # this handler ever ran are still delivered to it.
            await client.xgroup_create(
                name=subscription.sources[0], groupname=subscription.group, id="0", mkstream=True
            )
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise


async def _declare_nats(target: EventBroker) -> None:
    from nats.js.errors import BadRequestError

    broker = cast("NatsBroker", target.broker)
    jetstream = broker.connection.jetstream()
    for stream in (nats_stream(target.topology), nats_dead_letter_stream(target.topology)):
        config = stream.config
        config.subjects = list(stream.subjects)
        try:
            await jetstream.add_stream(config=config)
        except BadRequestError as error:
            # Declared by another process already (possibly with other limits an
            # operator chose): use it as it is.
            if error.err_code != _STREAM_NAME_IN_USE:
                raise


_STREAM_NAME_IN_USE: Final = 10058

_DECLARE: Final[dict[BrokerKind, Any]] = {
    "rabbit": _declare_rabbit,
    "kafka": _declare_kafka,
    "redis": _declare_redis,
    "nats": _declare_nats,
}
