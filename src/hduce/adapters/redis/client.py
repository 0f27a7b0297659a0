"""The Redis connection pool, its readiness probe, and which of its errors are outages."""

from __future__ import annotations

from typing import Literal

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

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


def redis_outage(error: BaseException) -> Literal["busy", "down"] | None:
    """Whether ``error`` (itself, not its causes) says Redis is overloaded or down."""
    # The blocking pool's wait ran out (a ConnectionError caused by a timeout), the
    # default pool's limit, or a command that got no answer in time.
    if isinstance(error, MaxConnectionsError | RedisTimeoutError) or (
        isinstance(error, RedisConnectionError) and isinstance(error.__cause__, TimeoutError)
    ):
        return "busy"
    if isinstance(error, RedisConnectionError):  # refused, reset, loading its dataset
        return "down"
    return None
