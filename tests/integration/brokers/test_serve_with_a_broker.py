"""``hduce serve`` with a broker: HTTP and the consumers in one process (the broker
starts and stops in the HTTP app's lifespan), and the AsyncAPI document of what it
runs at /schema/asyncapi."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hduce.adapters.messaging.topology import BrokerKind
from tests.e2e.server import clean_environment, running_server
from tests.integration.brokers.support import JWT_SECRET, clinic, unique_prefix, wait_until

URL_FIXTURES = {"rabbit": "rabbitmq_url", "kafka": "kafka_url"}


@pytest.mark.parametrize("kind", ["rabbit", "kafka"])
async def test_serve_consumes_from_the_broker_and_documents_it(
    kind: BrokerKind, request: pytest.FixtureRequest, postgres_database: str, tmp_path: Path
) -> None:
    url = request.getfixturevalue(URL_FIXTURES[kind])
    prefix = unique_prefix()
    async with clinic(postgres_database, url, prefix) as shop:
        env = clean_environment(
            HDUCE_DATABASE_URL=postgres_database,
            HDUCE_BROKER_URL=url,
            HDUCE_BROKER_PREFIX=prefix,
            HDUCE_JWT_SECRET=JWT_SECRET,
        )
        with running_server(tmp_path, env, timeout=60) as base_url:
            booked = await shop.book(2)

            async def notified() -> bool:
                found = await shop.notifications_about(booked)
                return sum(1 for n in found if n.channel.value == "in_app") == 4

            await wait_until(notified, what="notifications through the broker")
            async with httpx.AsyncClient(base_url=base_url) as client:
                page = await client.get("/schema/asyncapi")
                document = (await client.get("/schema/asyncapi.json")).json()

    assert page.status_code == 200
    assert "asyncapi" in page.text.lower()
    protocols = {server["protocol"] for server in document["servers"].values()}
    # The event broker's, and the check-in devices' MQTT (docs/devices.md).
    assert protocols == {"amqp" if kind == "rabbit" else "kafka", "mqtt"}
    addresses = {channel["address"] for channel in document["channels"].values()}
    if kind == "rabbit":
        assert "appointment.requested" in addresses  # the routing key
    else:
        assert f"{prefix}.appointment" in addresses  # the topic
