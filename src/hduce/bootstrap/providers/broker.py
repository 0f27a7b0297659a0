"""Events over a broker (``HDUCE_BROKER_URL``): the FastStream broker with the handler
table's subscribers, the ``EventPublisher`` the outbox relay uses, and the AsyncAPI
document of the events.

``BrokerProvider`` comes after ``EventBusProvider`` in ``providers()``, so its
``EventPublisher`` replaces the in-process bus. Without a broker,
``EventDocumentationProvider`` (``event_documentation.py``) still documents the events,
and this module (FastStream and the four broker clients) is not even imported.
"""

from __future__ import annotations

from dishka import AsyncContainer, Provider, Scope, provide
from dishka_faststream import setup_dishka
from faststream.context import ContextRepo

from hduce.adapters.messaging.brokers import EventBroker, build_broker
from hduce.adapters.messaging.consumers import Consumers, RetryPolicy
from hduce.adapters.messaging.documentation import render_asyncapi
from hduce.adapters.messaging.publisher import BrokerEventPublisher
from hduce.adapters.messaging.topology import Topology
from hduce.application.messaging.handlers import EventConsumer, event_routes
from hduce.application.ports import EventPublisher
from hduce.bootstrap.messaging import (
    ASYNCAPI_DESCRIPTION,
    ASYNCAPI_TITLE,
    AsyncApiDocument,
    package_version,
)
from hduce.bootstrap.metrics import MeteredPublisher, PrometheusConsumerMetrics
from hduce.bootstrap.settings import Settings
from hduce.bootstrap.tracing import active_telemetry


async def _from_request_container(
    handler: type[EventConsumer], context: ContextRepo
) -> EventConsumer:
    # dishka-faststream's middleware opened this message's request container.
    container: AsyncContainer = context.get_local("dishka")
    return await container.get(handler)


class BrokerProvider(Provider):
    """``retry``: how consumers retry a failing handler (tests pass short delays)."""

    scope = Scope.APP

    def __init__(self, *, retry: RetryPolicy | None = None) -> None:
        super().__init__()
        self._retry = retry or RetryPolicy()

    @provide
    def event_broker(self, settings: Settings, container: AsyncContainer) -> EventBroker:
        configured = settings.broker
        if configured is None:
            raise RuntimeError("BrokerProvider needs HDUCE_BROKER_URL")
        telemetry = active_telemetry()
        broker = EventBroker(
            configured.kind,
            build_broker(
                configured.kind,
                configured.url,
                servers=configured.servers,
                tracer_provider=telemetry.provider if telemetry is not None else None,
            ),
            Topology(prefix=configured.prefix),
            event_routes(),
        )
        Consumers(
            broker, _from_request_container, PrometheusConsumerMetrics(), self._retry
        ).register()
        # One request container per message, from which handlers are resolved.
        setup_dishka(container, broker=broker.broker)
        return broker

    @provide
    def broker_publisher(self, broker: EventBroker) -> BrokerEventPublisher:
        return BrokerEventPublisher(broker)

    @provide
    def publisher(self, inner: BrokerEventPublisher) -> EventPublisher:
        return MeteredPublisher(inner)

    @provide
    def asyncapi(self, broker: EventBroker, settings: Settings) -> AsyncApiDocument:
        from hduce.adapters.mqtt.gateway import documentation_broker

        devices = settings.devices
        json = render_asyncapi(
            broker.broker,
            documentation_broker(devices.topic_prefix, devices.mqtt_url),
            title=ASYNCAPI_TITLE,
            version=package_version(),
            description=ASYNCAPI_DESCRIPTION,
        )
        return AsyncApiDocument(json=json, title=ASYNCAPI_TITLE)
