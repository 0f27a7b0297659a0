"""With HDUCE_BROKER_URL the container wires the broker: the relay's EventPublisher
publishes to it, its subscribers resolve their handler from the dishka container per
message, what fails counts in the metrics; ``serve`` starts it in the HTTP lifespan.
The AsyncAPI document is served with or without a broker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dishka import Provider, Scope, provide
from faststream.rabbit import TestRabbitBroker
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from hduce.adapters.events_codec import encode_event
from hduce.adapters.memory import InProcessEventBus
from hduce.adapters.messaging.brokers import EventBroker, rabbit_queue
from hduce.adapters.messaging.consumers import RetryPolicy, raw_body
from hduce.adapters.sql import upgrade_database
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.ports import EventPublisher
from hduce.bootstrap.background import background_services
from hduce.bootstrap.container import build_container
from hduce.bootstrap.messaging import AsyncApiDocument
from hduce.bootstrap.providers.broker import BrokerProvider
from hduce.bootstrap.settings import Settings
from hduce.domain import events
from hduce.domain.events import DomainEvent
from hduce.domain.notifications import Notification
from hduce.entrypoints.asgi import build_app
from tests.unit.domain.builders import CAST, NOW, POLICY, book

RABBIT = "amqp://guest:guest@rabbitmq.invalid:5672/"


class RecordingNotifications(HandleEventNotifications):
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, event: DomainEvent) -> list[Notification]:
        self.seen.append(event.type)
        if event.type == events.APPOINTMENT_CANCELLED:
            raise ConnectionError("database down")
        return []


class Recording(Provider):
    scope = Scope.APP

    def __init__(self, handler: RecordingNotifications) -> None:
        super().__init__()
        self._handler = handler

    @provide(override=True)
    def notifications(self) -> HandleEventNotifications:
        return self._handler


def _settings(tmp_path: Path, **extra: str) -> Settings:
    return Settings.from_env(
        {"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db", **extra}
    )


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_relay_publishes_to_the_broker_and_handlers_come_from_the_container(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, HDUCE_BROKER_URL=RABBIT, HDUCE_BROKER_PREFIX="wiring")
    handler = RecordingNotifications()
    fast = BrokerProvider(retry=RetryPolicy(2, first_delay=0.001))
    container = build_container(settings, extra=[fast, Recording(handler)])
    try:
        broker = await container.get(EventBroker)
        broker.declare = False  # FastStream's test broker stands in for RabbitMQ
        dead_letters: list[bytes] = []

        @broker.broker.subscriber(
            rabbit_queue("wiring.notifications.dead-letters"), decoder=raw_body
        )
        async def keep(body: Any) -> None:
            dead_letters.append(body)

        publisher = await container.get(EventPublisher)  # type: ignore[type-abstract]
        assert not isinstance(publisher, InProcessEventBus)
        appointment = book(by="patient")
        [requested] = appointment.collect_events()
        appointment.cancel(actor=CAST.patient, now=NOW, reason="better", policy=POLICY)
        [cancelled] = appointment.collect_events()
        published = _sample("hduce_events_published_total", type=events.APPOINTMENT_REQUESTED)
        dead = _sample(
            "hduce_events_dead_lettered_total", consumer="notifications", reason="failed"
        )

        async with TestRabbitBroker(broker.broker):
            await publisher.publish(requested)
            await publisher.publish(cancelled)

        assert handler.seen == [events.APPOINTMENT_REQUESTED] + [events.APPOINTMENT_CANCELLED] * 2
        assert dead_letters == [encode_event(cancelled)]
        assert (
            _sample("hduce_events_published_total", type=events.APPOINTMENT_REQUESTED)
            == published + 1
        )
        assert (
            _sample("hduce_events_dead_lettered_total", consumer="notifications", reason="failed")
            == dead + 1
        )
    finally:
        await container.close()


async def test_serve_starts_the_broker_consumers_instead_of_the_in_process_bus(
    tmp_path: Path,
) -> None:
    with_broker = _settings(tmp_path, HDUCE_BROKER_URL=RABBIT)
    without = _settings(tmp_path)

    def names(settings: Settings, **options: Any) -> list[str]:
        container = build_container(settings)
        return [s.__name__ for s in background_services(container, settings, **options)]

    assert names(with_broker)[0] == "broker_consumers"
    assert names(without)[0] == "in_process_consumers"
    assert "broker_consumers" not in names(with_broker, mode="worker", consumers=False)
    assert names(with_broker, mode="api") == ["service"]  # the outbox metrics only


async def test_the_asyncapi_document_is_served_beside_the_openapi_one(tmp_path: Path) -> None:
    settings = _settings(tmp_path, HDUCE_BROKER_URL="kafka://kafka.invalid:9092")
    await upgrade_database(settings.database.url)
    app = build_app(settings, mode="api")

    async with AsyncTestClient(app) as client:
        page = await client.get("/schema/asyncapi")
        document = await client.get("/schema/asyncapi.json")
        openapi = await client.get("/schema/openapi.json")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert document.status_code == 200
    spec = document.json()
    assert spec["asyncapi"] == "3.0.0"
    assert spec["info"]["title"] == "HDUCE events"
    # The event broker's, and the check-in devices' MQTT (docs/devices.md).
    assert {server["protocol"] for server in spec["servers"].values()} == {"kafka", "mqtt"}
    addresses = {channel["address"] for channel in spec["channels"].values()}
    assert {"hduce/devices/{device_id}/checkin", "hduce/devices/{device_id}/heartbeat"} <= (
        addresses
    )
    assert "/schema/asyncapi" not in openapi.json()["paths"]


async def test_without_a_broker_the_document_shows_the_rabbitmq_topology(tmp_path: Path) -> None:
    container = build_container(_settings(tmp_path))
    try:
        document = json.loads((await container.get(AsyncApiDocument)).json)
    finally:
        await container.close()

    assert "HDUCE_BROKER_URL is unset" in document["info"]["description"]
    assert {server["protocol"] for server in document["servers"].values()} == {"amqp", "mqtt"}
    channels = document["channels"].values()
    assert "appointment.approved" in {c["address"] for c in channels}
