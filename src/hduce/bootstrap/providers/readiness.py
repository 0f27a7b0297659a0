"""What ``GET /health/ready`` checks: the database and its migrations, Redis when it
is configured, and the broker when ``HDUCE_BROKER_URL`` is set. The broker only
degrades the API's readiness: without it bookings go on (their events wait in the
outbox), so a load balancer should keep sending traffic; a worker, which cannot work
without it, counts it as required (``hduce.bootstrap.health``)."""

# No ``from __future__ import annotations``: the Redis and broker variants are defined
# inside functions (their imports load redis-py, FastStream), and dishka reads their
# annotations, which must then be objects rather than names of this module.

from collections.abc import Callable
from typing import Any

from dishka import Provider, Scope

from hduce.adapters.sql.readiness import DatabaseProbe, MigrationsProbe
from hduce.application.ports import ReadinessProbes


def database_only(database: DatabaseProbe, migrations: MigrationsProbe) -> ReadinessProbes:
    return ReadinessProbes((database, migrations))


def _with_redis() -> Callable[..., Any]:
    # Imported only with Redis: redis-py stays out of a process on the embedded defaults.
    from redis.asyncio import Redis

    from hduce.adapters.redis.client import RedisReadiness

    def database_and_redis(
        database: DatabaseProbe, migrations: MigrationsProbe, redis: Redis
    ) -> ReadinessProbes:
        return ReadinessProbes((database, migrations, RedisReadiness(redis)))

    return database_and_redis


def _with_broker(redis: bool) -> Callable[..., Any]:
    # Imported only with a broker: FastStream and the broker clients stay out otherwise.
    from hduce.adapters.messaging.brokers import EventBroker
    from hduce.adapters.messaging.readiness import BrokerProbe

    if not redis:

        def database_and_broker(
            database: DatabaseProbe, migrations: MigrationsProbe, broker: EventBroker
        ) -> ReadinessProbes:
            return ReadinessProbes((database, migrations), degrading=(BrokerProbe(broker),))

        return database_and_broker

    from redis.asyncio import Redis

    from hduce.adapters.redis.client import RedisReadiness

    def database_redis_and_broker(
        database: DatabaseProbe, migrations: MigrationsProbe, redis: Redis, broker: EventBroker
    ) -> ReadinessProbes:
        return ReadinessProbes(
            (database, migrations, RedisReadiness(redis)), degrading=(BrokerProbe(broker),)
        )

    return database_redis_and_broker


class ReadinessProvider(Provider):
    """``redis``: whether the container has a Redis client to ping; ``broker``:
    whether it has an ``EventBroker`` (``HDUCE_BROKER_URL``)."""

    scope = Scope.APP

    def __init__(self, *, redis: bool, broker: bool = False) -> None:
        super().__init__()
        if broker:
            self.provide(_with_broker(redis))
        else:
            self.provide(_with_redis() if redis else database_only)
