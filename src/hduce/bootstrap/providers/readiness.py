"""What ``GET /health/ready`` checks: the database, Redis when it is configured, and
the broker when ``HDUCE_BROKER_URL`` is set. The broker only degrades readiness:
without it bookings go on (their events wait in the outbox), so a load balancer
should keep sending traffic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dishka import Provider, Scope
from redis.asyncio import Redis

from hduce.adapters.messaging.brokers import EventBroker
from hduce.adapters.messaging.readiness import BrokerProbe
from hduce.adapters.redis.client import RedisReadiness
from hduce.adapters.sql.readiness import DatabaseProbe
from hduce.application.ports import ReadinessProbes


def database_only(database: DatabaseProbe) -> ReadinessProbes:
    return ReadinessProbes((database,))


def database_and_redis(database: DatabaseProbe, redis: Redis) -> ReadinessProbes:
    return ReadinessProbes((database, RedisReadiness(redis)))


def database_and_broker(database: DatabaseProbe, broker: EventBroker) -> ReadinessProbes:
    return ReadinessProbes((database,), degrading=(BrokerProbe(broker),))


def database_redis_and_broker(
    database: DatabaseProbe, redis: Redis, broker: EventBroker
) -> ReadinessProbes:
    return ReadinessProbes((database, RedisReadiness(redis)), degrading=(BrokerProbe(broker),))


_CHOICES: dict[tuple[bool, bool], Callable[..., Any]] = {
    (False, False): database_only,
    (True, False): database_and_redis,
    (False, True): database_and_broker,
    (True, True): database_redis_and_broker,
}


class ReadinessProvider(Provider):
    """``redis``: whether the container has a Redis client to ping; ``broker``:
    whether it has an ``EventBroker`` (``HDUCE_BROKER_URL``)."""

    scope = Scope.APP

    def __init__(self, *, redis: bool, broker: bool = False) -> None:
        super().__init__()
        self.provide(_CHOICES[redis, broker])
