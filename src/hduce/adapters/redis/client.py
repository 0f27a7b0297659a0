"""The Redis connection pool and its readiness probe."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

DEFAULT_PREFIX = "hduce:"


def create_redis(
    url: str,
    *,
    max_connections: int = 50,
    pool_timeout: float = 5.0,
    socket_timeout: float = 5.0,
) -> Redis:
    """A client answering ``bytes``, owning its pool; close it with ``aclose()``.

    The pool blocks: with ``max_connections`` in use, a command waits up to
    ``pool_timeout`` seconds for one to come back, then raises
    ``redis.exceptions.ConnectionError`` (the HTTP layer answers 503). redis-py's
    default pool raises ``MaxConnectionsError`` at once instead, which turned
    every burst above the limit into errors.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        decode_responses=False,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


class RedisReadiness:
    """A ``ReadinessProbe`` (see ``hduce.application.ports``): PING answers."""

    name = "redis"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def check(self) -> None:
        await self._redis.ping()
