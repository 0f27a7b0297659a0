"""Where events travel on each broker: every name, key and group, in one place.

The publisher and the consumers both read this module, so what one writes is what
the other reads. Every name starts with the prefix (``HDUCE_BROKER_PREFIX``,
``hduce`` by default), so several deployments (or test runs) can share one broker.

RabbitMQ
    One durable topic exchange, ``<prefix>.events``; the routing key is the event
    type (``appointment.approved``). Each handler has one durable queue,
    ``<prefix>.<consumer>``, bound once per event type it reacts to. Dead letters go
    to the durable queue ``<prefix>.<consumer>.dead-letters``.
Kafka
    One topic per aggregate kind, ``<prefix>.<kind>`` (``hduce.appointment``,
    ``hduce.reminder``, ``hduce.user``): the kind is what comes before the first dot
    of the type. The message key is the aggregate id, so one appointment's events
    land on one partition, in order. One consumer group per handler,
    ``<prefix>.<consumer>``; dead letters on the topic ``<prefix>.<consumer>.dead-letters``.
Redis Streams
    One stream per aggregate kind, named like the Kafka topics; one consumer group
    per handler (``<prefix>.<consumer>``), created from the start of the stream so
    no event written before the first worker started is missed. Dead letters: the
    stream ``<prefix>.<consumer>.dead-letters``.
NATS JetStream
    One stream, ``<PREFIX>_EVENTS``, over the subjects ``<prefix>.events.>``; an
    event's subject is ``<prefix>.events.<type>``. Each handler has one durable pull
    consumer per aggregate kind, ``<prefix>-<consumer>-<kind>``, filtering
    ``<prefix>.events.<kind>.>``. Dead letters: the stream ``<PREFIX>_DEAD_LETTERS``,
    subject ``<prefix>.dead-letters.<consumer>``.

Competing consumers: every worker joins the same queue, group or durable consumer
for a handler, so N workers share its events instead of each handling all of them.
Kafka, Redis and NATS sources carry a whole aggregate kind; a handler acknowledges
and skips the types it does not react to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from hduce.domain.events import EVENT_TYPES

BrokerKind = Literal["rabbit", "kafka", "redis", "nats"]

DEFAULT_PREFIX: Final = "hduce"
# Dots separate the names' parts on every broker, and NATS refuses them (and
# wildcards) in stream and consumer names; keep the prefix to one plain token.
PREFIX_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def aggregate_kind(event_type: str) -> str:
    """``appointment.approved`` -> ``appointment``."""
    kind, dot, _ = event_type.partition(".")
    if not dot or not kind:
        raise ValueError(f"event type {event_type!r} has no aggregate kind")
    return kind


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one subscriber of a handler reads: one per handler on RabbitMQ and Kafka,
    one per handler and aggregate kind on Redis and NATS.

    ``sources``: the queue (RabbitMQ), the topics (Kafka: one consumer reads them
    all, so a worker joins the group once), the stream (Redis) or the subject filter
    (NATS). ``group`` is what competing workers share: the queue, the consumer group
    or the durable consumer. ``bindings`` are the routing keys bound to the queue
    (RabbitMQ only). ``dead_letters`` is where messages that failed go.
    """

    consumer: str
    event_types: frozenset[str]
    sources: tuple[str, ...]
    group: str
    dead_letters: str
    bindings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """How logs and the AsyncAPI document name this subscriber."""
        return f"{self.consumer}:{'+'.join(self.sources)}"


@dataclass(frozen=True, slots=True)
class Topology:
    prefix: str = DEFAULT_PREFIX
    #: Partitions of each Kafka topic: the most workers that can share one handler.
    kafka_partitions: int = 12

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.match(self.prefix):
            raise ValueError(f"broker prefix {self.prefix!r} must match {PREFIX_PATTERN.pattern}")
        if self.kafka_partitions < 1:
            raise ValueError("kafka_partitions must be at least 1")

    # ------------------------------------------------------------------ RabbitMQ

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    def routing_key(self, event_type: str) -> str:
        return event_type

    def queue(self, consumer: str) -> str:
        return f"{self.prefix}.{consumer}"

    # ------------------------------------------------------------------ Kafka and Redis

    def topic(self, event_type: str) -> str:
        """The Kafka topic (and the Redis stream) of an event type."""
        return f"{self.prefix}.{aggregate_kind(event_type)}"

    def topics(self, event_types: Iterable[str] = EVENT_TYPES) -> tuple[str, ...]:
        """Every topic these types travel on (by default: all of them), sorted."""
        return tuple(sorted({self.topic(t) for t in event_types}))

    def group(self, consumer: str) -> str:
        return f"{self.prefix}.{consumer}"

    # ------------------------------------------------------------------ NATS JetStream

    @property
    def jetstream(self) -> str:
        return f"{self._upper}_EVENTS"

    @property
    def subjects(self) -> str:
        """Every event subject: what the JetStream stream stores."""
        return f"{self.prefix}.events.>"

    def subject(self, event_type: str) -> str:
        return f"{self.prefix}.events.{event_type}"

    def subject_filter(self, kind: str) -> str:
        return f"{self.prefix}.events.{kind}.>"

    def durable(self, consumer: str, kind: str) -> str:
        return f"{self.prefix}-{consumer}-{kind}"

    @property
    def dead_letter_jetstream(self) -> str:
        return f"{self._upper}_DEAD_LETTERS"

    @property
    def dead_letter_subjects(self) -> str:
        return f"{self.prefix}.dead-letters.>"

    @property
    def _upper(self) -> str:
        return self.prefix.upper().replace("-", "_")

    # ------------------------------------------------------------------ per broker

    def dead_letters(self, kind: BrokerKind, consumer: str) -> str:
        """Where a handler's failed messages go on ``kind``."""
        if kind == "nats":
            return f"{self.prefix}.dead-letters.{consumer}"
        return f"{self.prefix}.{consumer}.dead-letters"

    def subscriptions(
        self, kind: BrokerKind, consumer: str, event_types: Iterable[str]
    ) -> list[Subscription]:
        """What one handler subscribes to on ``kind``: one queue on RabbitMQ, one
        source per aggregate kind elsewhere."""
        types = frozenset(event_types)
        if not types:
            return []
        dead_letters = self.dead_letters(kind, consumer)
        if kind == "rabbit":
            queue = self.queue(consumer)
            bindings = tuple(sorted(self.routing_key(t) for t in types))
            return [Subscription(consumer, types, (queue,), queue, dead_letters, bindings)]
        if kind == "kafka":
            topics = self.topics(types)
            return [Subscription(consumer, types, topics, self.group(consumer), dead_letters)]
        if kind == "redis":
            return [
                Subscription(consumer, types, (stream,), self.group(consumer), dead_letters)
                for stream in self.topics(types)
            ]
        return [
            Subscription(
                consumer,
                types,
                (self.subject_filter(k),),
                self.durable(consumer, k),
                dead_letters,
            )
            for k in sorted({aggregate_kind(t) for t in types})
        ]
