"""The Redis connection pool and its readiness probe."""

from __future__ import annotations

from redis.asyncio import Redis

DEFAULT_PREFIX = "hduce:"


def create_redis(url: str, *, socket_timeout: float = 5.0) -> Redis:
    """A client (its own connection pool) answering ``bytes``; close it with ``aclose()``."""
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
    )


class RedisReadiness:
    """A ``ReadinessProbe`` (see ``hduce.application.ports``): PING answers."""

    name = "redis"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def check(self) -> None:
        await self._redis.ping()
