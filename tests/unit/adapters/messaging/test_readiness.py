"""The broker's readiness probe: checked when HDUCE_BROKER_URL is set, and down when
nothing answers at the broker's address."""

from __future__ import annotations

from pathlib import Path

import pytest

from hduce.adapters.messaging.brokers import EventBroker, build_broker
from hduce.adapters.messaging.readiness import BrokerProbe
from hduce.adapters.messaging.topology import Topology
from hduce.application.messaging.handlers import event_routes
from hduce.application.ports import ReadinessProbes
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from tests.services import free_port


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ({}, ["database", "migrations"]),
        (
            {"HDUCE_REDIS_URL": "redis://redis.invalid:6379/0"},
            ["database", "migrations", "redis"],
        ),
        (
            {"HDUCE_BROKER_URL": "amqp://guest:guest@rabbitmq.invalid:5672/"},
            ["database", "migrations", "broker"],
        ),
        (
            {
                "HDUCE_REDIS_URL": "redis://redis.invalid:6379/0",
                "HDUCE_BROKER_URL": "kafka://kafka.invalid:9092",
            },
            ["database", "migrations", "redis", "broker"],
        ),
    ],
)
async def test_readiness_checks_the_broker_when_one_is_configured(
    extra: dict[str, str], names: list[str], tmp_path: Path
) -> None:
    settings = Settings.from_env(
        {"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", **extra}
    )
    container = build_container(settings)
    try:
        probes = await container.get(ReadinessProbes)
    finally:
        await container.close()
    assert [probe.name for probe in probes.probes + probes.degrading] == names


async def test_the_probe_fails_when_nothing_answers_at_the_broker_address() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/"  # nothing listens there
    broker = EventBroker("rabbit", build_broker("rabbit", url), Topology("t"), event_routes())
    with pytest.raises(ConnectionError):
        await BrokerProbe(broker).check()
