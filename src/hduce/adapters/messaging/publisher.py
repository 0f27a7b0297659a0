"""``BrokerEventPublisher``: the ``EventPublisher`` port on a FastStream broker.

The outbox relay marks a row published once ``publish`` returned, so ``publish``
returns only when the broker has the message: a RabbitMQ publisher confirm, a Kafka
acknowledgement from every in-sync replica, the stream entry id of XADD, a
JetStream PubAck. An error leaves the row in the outbox for the next attempt.

The address comes from the event type's publisher object on the ``EventBroker``
(built from the topology); the message is the codec's JSON, with the event type and
id as headers so tools can route or inspect without decoding.
"""

from __future__ import annotations

from typing import Final

from hduce.adapters.events_codec import encode_event
from hduce.adapters.messaging.brokers import EventBroker
from hduce.domain.events import DomainEvent

CONTENT_TYPE: Final = "application/json"
EVENT_TYPE_HEADER: Final = "event-type"
EVENT_ID_HEADER: Final = "event-id"
#: JetStream drops a second message with the same id within its duplicate window,
#: so an event the relay publishes twice (a crash before marking it) is stored once.
NATS_MESSAGE_ID_HEADER: Final = "Nats-Msg-Id"
#: How long a publish may wait for the broker's acknowledgement.
PUBLISH_TIMEOUT_SECONDS: Final = 10.0


class BrokerEventPublisher:
    def __init__(self, broker: EventBroker) -> None:
        self._broker = broker

    async def publish(self, event: DomainEvent) -> None:
        # Connects and declares the topology on first use (a no-op afterwards).
        await self._broker.prepare()
        body = encode_event(event)
        headers = {EVENT_TYPE_HEADER: event.type, EVENT_ID_HEADER: str(event.id)}
        publisher = self._broker.publisher_for(event.type)
        kind = self._broker.kind
        if kind == "rabbit":
            await publisher.publish(
                body,
                headers=headers,
                message_id=str(event.id),
                correlation_id=event.correlation_id,
                content_type=CONTENT_TYPE,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        elif kind == "kafka":
            # Keyed by aggregate: one appointment's events share a partition, in order.
            await publisher.publish(
                body,
                key=str(event.aggregate_id).encode(),
                headers=headers,
                correlation_id=event.correlation_id,
            )
        elif kind == "redis":
            await publisher.publish(body, headers=headers, correlation_id=event.correlation_id)
        else:
            await publisher.publish(
                body,
                headers={**headers, NATS_MESSAGE_ID_HEADER: str(event.id)},
                correlation_id=event.correlation_id,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
