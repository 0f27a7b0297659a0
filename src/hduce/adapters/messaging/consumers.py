"""The handlers of the handler table as FastStream subscribers.

``register_consumers`` adds one subscriber per (handler, source) of the topology.
For each message:

1. the body is decoded with ``decode_event``; a message that does not decode (a
   poison message) goes straight to the handler's dead letters, is acknowledged,
   and the next message comes;
2. an event type the handler does not react to (a Kafka topic, Redis stream or
   NATS subject carries a whole aggregate kind) is acknowledged and skipped;
3. the handler, resolved per message (``resolve``: the composition root asks the
   message's dishka request container), is called; it commits its own transaction
   and dedupes by event id, so a redelivery is harmless;
4. on success the message is acknowledged, never before: a crash in between means
   a redelivery, not a loss;
5. on failure it is retried in place with exponential backoff (``RetryPolicy``);
   after the last attempt it is published to the dead letters, with the error, and
   then acknowledged;
6. if something else fails (writing the dead letter, resolving the handler, the
   acknowledgement itself) the message is handed back to the broker (nack) to come
   again, after a short pause.

Acknowledgement is manual (``AckPolicy.MANUAL``) and means, per broker: RabbitMQ
basic.ack; Kafka committing the offset (a nack seeks back to the message); Redis
XACK (a message left pending is reclaimed by another subscriber of the group after
``RECLAIM_IDLE``, e.g. when its worker was killed); NATS JetStream +ACK (a nack asks
for redelivery). FastStream's ``graceful_timeout`` lets in-flight messages finish
when the broker stops.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Final, Protocol, cast

import structlog
from faststream import Context
from faststream.context import ContextRepo
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy

from hduce.adapters.events_codec import MalformedEvent, decode_event
from hduce.adapters.messaging.brokers import (
    EventBroker,
    kafka_topic,
    nats_dead_letter_stream,
    nats_stream,
    rabbit_exchange,
    rabbit_queue,
)
from hduce.adapters.messaging.documentation import message_annotation
from hduce.adapters.messaging.topology import Subscription
from hduce.application.messaging.handlers import EventConsumer
from hduce.domain.events import DomainEvent

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker
    from faststream.nats import NatsBroker
    from faststream.rabbit import RabbitBroker
    from faststream.redis import RedisBroker

log = structlog.get_logger(__name__)

#: Messages one subscriber takes at once (RabbitMQ prefetch, NATS fetch batch, Redis
#: XREADGROUP count).
CONCURRENCY: Final = 16
#: A Redis stream entry pending this long on one consumer is taken over by another.
#: Longer than any retry sequence, so a live worker keeps what it is working on.
RECLAIM_IDLE: Final = timedelta(seconds=60)
_RECLAIM_IDLE_MS: Final = int(RECLAIM_IDLE.total_seconds() * 1000)
#: JetStream redelivers an unacknowledged message after this long.
NATS_ACK_WAIT: Final = timedelta(seconds=60)
#: Pause before handing a message back when its dead letter could not be written.
REQUEUE_PAUSE_SECONDS: Final = 1.0

# Headers of a dead letter.
CONSUMER_HEADER: Final = "x-hduce-consumer"
REASON_HEADER: Final = "x-hduce-reason"
ERROR_HEADER: Final = "x-hduce-error"
ATTEMPTS_HEADER: Final = "x-hduce-attempts"
SOURCE_HEADER: Final = "x-hduce-source"
_ERROR_TEXT_LIMIT: Final = 1000

HandlerResolver = Callable[[type[EventConsumer], ContextRepo], Awaitable[EventConsumer]]
"""Gives the handler instance for one message (``ContextRepo``: FastStream's context
of that message, where the dishka integration keeps its request container)."""


class ConsumerMetrics(Protocol):
    def started(self, consumer: str, event: DomainEvent) -> None:
        """A decoded event reached its handler (once per message, before the attempts)."""
        ...

    def processed(self, consumer: str, event: DomainEvent) -> None: ...

    def failed(self, consumer: str, event: DomainEvent) -> None:
        """One attempt failed (it may be retried)."""
        ...

    def dead_lettered(self, consumer: str, reason: str) -> None:
        """``reason``: ``malformed`` (did not decode) or ``failed`` (every attempt)."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per message, waiting ``first_delay``, then twice as long each time
    up to ``max_delay``; the defaults wait 0.2 + 0.4 + 0.8 + 1.6 s in all."""

    max_attempts: int = 5
    first_delay: float = 0.2
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, failed_attempt: int) -> float:
        return float(min(self.first_delay * 2 ** (failed_attempt - 1), self.max_delay))


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """FastStream decoder that hands the bytes over untouched: the codec decodes.

    A coroutine function on purpose: FastStream runs a plain function decoder in a
    worker thread, a thread hop per message (seen in the worker's py-spy profile)."""
    return message.body


def process_consumer_name() -> str:
    """This process's name inside a Redis consumer group."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Consumers:
    """The subscribers of one broker and what they do with each message."""

    def __init__(
        self,
        broker: EventBroker,
        resolve: HandlerResolver,
        metrics: ConsumerMetrics,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self._broker = broker
        self._resolve = resolve
        self._metrics = metrics
        self._retry = retry
        self._redis_consumer = process_consumer_name()

    def register(self) -> None:
        for route in self._broker.routes:
            for subscription in self._broker.topology.subscriptions(
                self._broker.kind, route.handler.consumer, route.event_types
            ):
                self._subscribe(subscription, route.handler)

    # ------------------------------------------------------------------ per message

    async def handle(
        self,
        subscription: Subscription,
        handler_type: type[EventConsumer],
        message: StreamMessage[Any],
        context: ContextRepo,
    ) -> None:
        try:
            await self._handle(subscription, handler_type, message, context)
        except Exception:
            # Not the handler (it is retried, then dead-lettered): resolving it, or
            # acknowledging, or writing the dead letter failed. Hand the message
            # back rather than leave it unanswered, which on Kafka the next commit
            # would skip past.
            log.exception(
                "could not finish a message; it goes back to the broker",
                subscriber=subscription.name,
            )
            await asyncio.sleep(REQUEUE_PAUSE_SECONDS)
            try:
                await message.nack()
            except Exception:
                log.exception("could not hand a message back", subscriber=subscription.name)

    async def _handle(
        self,
        subscription: Subscription,
        handler_type: type[EventConsumer],
        message: StreamMessage[Any],
        context: ContextRepo,
    ) -> None:
        consumer = subscription.consumer
        try:
            event = decode_event(message.body)
        except MalformedEvent as error:
            log.error("poison message", subscriber=subscription.name, error=str(error))
            await self._dead_letter(subscription, message, "malformed", error, attempts=0)
            return
        if event.type not in subscription.event_types:
            await message.ack()
            return
        handler = await self._resolve(handler_type, context)
        self._metrics.started(consumer, event)
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                await handler(event)
            except Exception as error:
                self._metrics.failed(consumer, event)
                if attempt == self._retry.max_attempts:
                    log.error(
                        "event handler gave up",
                        consumer=consumer,
                        event_id=str(event.id),
                        event_type=event.type,
                        attempts=attempt,
                        exc_info=True,
                    )
                    await self._dead_letter(subscription, message, "failed", error, attempt, event)
                    return
                delay = self._retry.delay(attempt)
                log.warning(
                    "event handler failed; retrying",
                    consumer=consumer,
                    event_id=str(event.id),
                    event_type=event.type,
                    attempt=attempt,
                    retry_in=delay,
                    error=repr(error),
                )
                await asyncio.sleep(delay)
            else:
                self._metrics.processed(consumer, event)
                await message.ack()
                log.debug(
                    "event handled",
                    consumer=consumer,
                    event_id=str(event.id),
                    event_type=event.type,
                    attempt=attempt,
                )
                return

    async def _dead_letter(
        self,
        subscription: Subscription,
        message: StreamMessage[Any],
        reason: str,
        error: BaseException,
        attempts: int,
        event: DomainEvent | None = None,
    ) -> None:
        headers = {
            CONSUMER_HEADER: subscription.consumer,
            REASON_HEADER: reason,
            ERROR_HEADER: f"{type(error).__name__}: {error}"[:_ERROR_TEXT_LIMIT],
            ATTEMPTS_HEADER: str(attempts),
            SOURCE_HEADER: ",".join(subscription.sources),
        }
        if event is not None:
            headers["event-id"] = str(event.id)
            headers["event-type"] = event.type
        await self._publish_dead_letter(subscription, message, headers)
        self._metrics.dead_lettered(subscription.consumer, reason)
        await message.ack()

    async def _publish_dead_letter(
        self, subscription: Subscription, message: StreamMessage[Any], headers: dict[str, str]
    ) -> None:
        kind, broker = self._broker.kind, self._broker.broker
        body, target = message.body, subscription.dead_letters
        if kind == "rabbit":
            # The default exchange routes by queue name; confirmed like any publish.
            await cast("RabbitBroker", broker).publish(
                body, queue=rabbit_queue(target), headers=dict(headers), persist=True
            )
        elif kind == "kafka":
            key = getattr(message.raw_message, "key", None)
            await cast("KafkaBroker", broker).publish(body, topic=target, key=key, headers=headers)
        elif kind == "redis":
            await cast("RedisBroker", broker).publish(body, stream=target, headers=headers)
        else:
            stream = nats_dead_letter_stream(self._broker.topology).name
            await cast("NatsBroker", broker).publish(
                body, subject=target, stream=stream, headers=headers
            )

    # ------------------------------------------------------------------ subscribers

    def _subscribe(self, subscription: Subscription, handler_type: type[EventConsumer]) -> None:
        call = self._call(subscription, handler_type)
        title = subscription.name
        description = (
            f"Handler `{handler_type.__name__}` (consumer `{subscription.consumer}`) "
            f"reacts to: {', '.join(sorted(subscription.event_types))}. "
            f"Failed messages go to `{subscription.dead_letters}`."
        )
        manual = AckPolicy.MANUAL
        kind, broker, topology = self._broker.kind, self._broker.broker, self._broker.topology
        source = subscription.sources[0]
        # The FastStream integration of this kind only (``brokers`` says why).
        if kind == "rabbit":
            from faststream.rabbit import Channel

            rabbit = cast("RabbitBroker", broker)
            # One consumer per binding, on one shared channel: FastStream binds a
            # queue with one routing key per subscriber, and so each binding shows
            # in the AsyncAPI document. The queue is one: a message is delivered once.
            channel = Channel(prefetch_count=CONCURRENCY)
            for routing_key in subscription.bindings:
                rabbit.subscriber(
                    rabbit_queue(source, routing_key=routing_key),
                    rabbit_exchange(topology),
                    channel=channel,
                    ack_policy=manual,
                    decoder=raw_body,
                    no_reply=True,
                    title=f"{title}:{routing_key}",
                    description=description,
                )(call)
        elif kind == "kafka":
            cast("KafkaBroker", broker).subscriber(
                *(kafka_topic(topology, topic) for topic in subscription.sources),
                group_id=subscription.group,
                # A new group starts at the beginning: what was published before
                # its first worker ran is still handled.
                auto_offset_reset="earliest",
                ack_policy=manual,
                decoder=raw_body,
                no_reply=True,
                title=title,
                description=description,
            )(call)
        elif kind == "redis":
            from faststream.redis import StreamSub

            for reclaim in (False, True):
                cast("RedisBroker", broker).subscriber(
                    stream=StreamSub(
                        source,
                        group=subscription.group,
                        consumer=self._redis_consumer + ("-reclaim" if reclaim else ""),
                        # The second subscriber only takes over entries another
                        # consumer of the group left pending (it died mid-message).
                        min_idle_time=_RECLAIM_IDLE_MS if reclaim else None,
                        polling_interval=1000 if reclaim else None,
                        # Take a few at a time, leaving the rest to other workers.
                        max_records=None if reclaim else CONCURRENCY,
                    ),
                    ack_policy=manual,
                    decoder=raw_body,
                    no_reply=True,
                    title=title + (":reclaim" if reclaim else ""),
                    description=description,
                    include_in_schema=not reclaim,
                )(call)
        else:
            from faststream.nats import PullSub
            from nats.js.api import ConsumerConfig

            cast("NatsBroker", broker).subscriber(
                source,
                stream=nats_stream(topology),
                durable=subscription.group,
                pull_sub=PullSub(batch_size=CONCURRENCY, timeout=1.0),
                config=ConsumerConfig(ack_wait=NATS_ACK_WAIT.total_seconds()),
                ack_policy=manual,
                decoder=raw_body,
                no_reply=True,
                title=title,
                description=description,
            )(call)

    def _call(
        self, subscription: Subscription, handler_type: type[EventConsumer]
    ) -> Callable[..., Awaitable[None]]:
        async def consume(event: Any, message: Any, context: Any) -> None:
            await self.handle(subscription, handler_type, message, context)

        # Set, not written, annotations: FastStream reads them to inject the message
        # and its context, and to document the body (never validated).
        consume.__annotations__ = {
            "event": message_annotation(subscription.event_types),
            "message": Annotated[StreamMessage[Any], Context("message")],
            "context": Annotated[ContextRepo, Context("context")],
            "return": None,
        }
        consume.__name__ = consume.__qualname__ = subscription.consumer
        return consume
