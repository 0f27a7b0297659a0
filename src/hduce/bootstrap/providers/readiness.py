"""What ``GET /health/ready`` checks: the database, and Redis when it is configured."""

from __future__ import annotations

from dishka import Provider, Scope
from redis.asyncio import Redis

from hduce.adapters.redis.client import RedisReadiness
from hduce.adapters.sql.readiness import DatabaseProbe
from hduce.application.ports import ReadinessProbes


def database_and_redis(database: DatabaseProbe, redis: Redis) -> ReadinessProbes:
    return ReadinessProbes((database, RedisReadiness(redis)))


def database_only(database: DatabaseProbe) -> ReadinessProbes:
    return ReadinessProbes((database,))


class ReadinessProvider(Provider):
    """``redis``: whether the container has a Redis client to ping."""

    scope = Scope.APP

    def __init__(self, *, redis: bool) -> None:
        super().__init__()
        self.provide(database_and_redis if redis else database_only)
