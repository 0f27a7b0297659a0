"""Shared fixtures: real services for integration and e2e tests.

How each service is found (environment variable, testcontainers, skip/fail) is
described in ``tests/services.py``. All service fixtures are session scoped and
synchronous, so they work from tests on any event-loop scope.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests import services
from tests.services import SmtpServer

TESTS_DIR = Path(__file__).parent
_INTEGRATION_DIRS = (TESTS_DIR / "integration", TESTS_DIR / "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration and tests/e2e as ``integration``."""
    for item in items:
        path = Path(item.path)
        if any(path.is_relative_to(folder) for folder in _INTEGRATION_DIRS):
            item.add_marker(pytest.mark.integration)
        if path.is_relative_to(TESTS_DIR / "e2e"):
            item.add_marker(pytest.mark.e2e)


def pytest_report_header(config: pytest.Config) -> list[str]:
    configured = [
        spec.env_var
        for spec in (
            services.POSTGRES,
            services.REDIS,
            services.RABBITMQ,
            services.KAFKA,
            services.NATS,
            services.MQTT,
        )
        if os.environ.get(spec.env_var)
    ]
    if os.environ.get(services.SMTP_ENV):
        configured.append(services.SMTP_ENV)
    return [
        f"hduce services from env: {', '.join(configured) or 'none'}; "
        f"{services.REQUIRE_ENV}={'1' if services.services_required() else '0'}"
    ]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Admin URL of a PostgreSQL server (``postgresql+asyncpg://...``).

    Prefer ``postgres_database`` in tests: it gives each test its own database.
    """
    with services.provide(services.POSTGRES) as url:
        yield url


@pytest.fixture
async def postgres_database(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test; yields its ``postgresql+asyncpg://`` URL.

    Dropped (``WITH (FORCE)``) after the test. For a database shared by a module, use
    ``services.temporary_database(postgres_url)`` in a module-scoped fixture.
    """
    async with services.temporary_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://host:port/0``. Tests share the server: use unique key prefixes."""
    with services.provide(services.REDIS) as url:
        yield url


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """``amqp://user:pass@host:port/``. Use unique queue/exchange names per test."""
    with services.provide(services.RABBITMQ) as url:
        yield url


@pytest.fixture(scope="session")
def kafka_url() -> Iterator[str]:
    """``kafka://host:port`` (see ``services.kafka_bootstrap_servers``). Unique topics per test."""
    with services.provide(services.KAFKA) as url:
        yield url


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """``nats://host:port`` (JetStream enabled). Use unique subjects/streams per test."""
    with services.provide(services.NATS) as url:
        yield url


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """``mqtt://host:port`` (Mosquitto). Tests share it: use a unique topic prefix."""
    with services.provide(services.MQTT) as url:
        yield url


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server: ``HDUCE_TEST_SMTP_URL`` or an in-process aiosmtpd one.

    ``smtp_server.url`` is ``smtp://host:port``; ``smtp_server.handler`` records what
    the in-process server received (shared by the session: match on a unique
    recipient or subject, e.g. with ``await smtp_server.wait_for(predicate)``).
    """
    with services.provide_smtp() as server:
        yield server
