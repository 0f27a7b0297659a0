"""The AsyncAPI document of the events when no broker is configured
(``HDUCE_BROKER_URL`` unset): the RabbitMQ topology, on a broker that is never connected.

FastStream and the broker adapters are imported only when the document is first asked
for, so a process without a broker does not keep them in memory (~450 modules).
"""

from __future__ import annotations

from typing import Any

from dishka import Provider, Scope, provide

from hduce.application.messaging.handlers import EventConsumer
from hduce.bootstrap.messaging import (
    ASYNCAPI_DESCRIPTION,
    ASYNCAPI_TITLE,
    AsyncApiDocument,
    package_version,
)
from hduce.bootstrap.settings import Settings
from hduce.domain.events import DomainEvent

IN_PROCESS_NOTE = (
    " This process has no broker (HDUCE_BROKER_URL is unset): events go from the "
    "outbox to the handlers in process. The channels below are the RabbitMQ topology "
    "the same events take with HDUCE_BROKER_URL=amqp://..."
)


async def _never(handler: type[EventConsumer], context: Any) -> EventConsumer:
    raise RuntimeError("a documentation-only broker consumes nothing")


class _Uncounted:
    def started(self, consumer: str, event: DomainEvent) -> None: ...

    def processed(self, consumer: str, event: DomainEvent) -> None: ...

    def failed(self, consumer: str, event: DomainEvent) -> None: ...

    def dead_lettered(self, consumer: str, reason: str) -> None: ...


class EventDocumentationProvider(Provider):
    scope = Scope.APP

    @provide
    def asyncapi(self, settings: Settings) -> AsyncApiDocument:
        from hduce.adapters.messaging.brokers import EventBroker, build_broker
        from hduce.adapters.messaging.consumers import Consumers
        from hduce.adapters.messaging.documentation import render_asyncapi
        from hduce.adapters.messaging.topology import DEFAULT_PREFIX, Topology
        from hduce.adapters.mqtt.gateway import documentation_broker
        from hduce.application.messaging.handlers import event_routes

        url = "amqp://rabbitmq.example:5672/"
        broker = EventBroker(
            "rabbit", build_broker("rabbit", url), Topology(DEFAULT_PREFIX), event_routes()
        )
        Consumers(broker, _never, _Uncounted()).register()
        devices = settings.devices
        json = render_asyncapi(
            broker.broker,
            documentation_broker(devices.topic_prefix, devices.mqtt_url),
            title=ASYNCAPI_TITLE,
            version=package_version(),
            description=ASYNCAPI_DESCRIPTION + IN_PROCESS_NOTE,
        )
        return AsyncApiDocument(json=json, title=ASYNCAPI_TITLE)
