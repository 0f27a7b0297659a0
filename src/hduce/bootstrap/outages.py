"""Outages: errors that say a backing service is overloaded or unreachable.

A request that fails because the database pool had no free connection in time,
PostgreSQL refused another client, or Redis did not answer, is not a bug: the
HTTP layer answers it 503 ``service-unavailable`` with ``Retry-After``, and the
log gets one line instead of a traceback. The adapters know their drivers'
errors (``database_outage``, ``redis_outage``); this module walks an error's
causes and asks them, and recognises network failures that reach us bare (asyncpg
connects outside SQLAlchemy's error wrapping, so a refused connection arrives as
a plain ``ConnectionRefusedError``).
"""

from __future__ import annotations

import errno
import socket
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from hduce.adapters.sql.outages import database_outage

#: Retry-After of an overloaded service (a pool was exhausted): it frees up quickly.
BUSY_RETRY_AFTER_SECONDS: Final = 1
#: Retry-After of a service that is down or restarting.
DOWN_RETRY_AFTER_SECONDS: Final = 5

_NETWORK_ERRNOS: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
        errno.ETIMEDOUT,
    }
)
# Where a bare network error was raised says which service it was.
_SERVICE_MODULES: Final = (
    ("database", ("asyncpg", "aiosqlite", "sqlalchemy", "hduce.adapters.sql")),
    ("redis", ("redis", "hduce.adapters.redis")),
)
_MAX_CHAIN: Final = 16


@dataclass(frozen=True, slots=True)
class Outage:
    #: "database", "redis", or "unknown" (for the log; clients are not told).
    service: str
    kind: Literal["busy", "down"]
    #: The error in the chain that showed it (its class name is logged).
    error: BaseException

    @property
    def retry_after_seconds(self) -> int:
        return BUSY_RETRY_AFTER_SECONDS if self.kind == "busy" else DOWN_RETRY_AFTER_SECONDS


def outage_of(error: BaseException) -> Outage | None:
    """The outage behind ``error`` (or one of its causes), None for anything else."""
    for link in _chain(error):
        if kind := database_outage(link):
            return Outage("database", kind, link)
        if kind := _redis_outage(link):
            return Outage("redis", kind, link)
        if _is_network_failure(link):
            return Outage(_service_of(link), "down", link)
        # asyncpg's connect timeout, the SQLite writer gate: waited too long.
        if isinstance(link, TimeoutError):
            return Outage(_service_of(link), "busy", link)
    return None


def _redis_outage(error: BaseException) -> Literal["busy", "down"] | None:
    # Only a process with redis-py loaded can have a Redis error: without Redis
    # configured it is never imported (about 20 MB), and this check must not import it.
    if "redis" not in sys.modules:
        return None
    from hduce.adapters.redis.client import redis_outage

    return redis_outage(error)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(link))
        yield link
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)


def _is_network_failure(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | socket.gaierror):  # refused, reset; DNS
        return True
    if not isinstance(error, OSError) or isinstance(error, TimeoutError):
        return False
    # asyncio's create_connection, when every address of a host failed differently.
    return error.errno in _NETWORK_ERRNOS or (
        error.errno is None and str(error).startswith("Multiple exceptions:")
    )


def _service_of(error: BaseException) -> str:
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    for frame in reversed(frames):  # innermost first: the driver that raised it
        module = str(frame.f_globals.get("__name__", ""))
        for service, prefixes in _SERVICE_MODULES:
            if module.startswith(prefixes):
                return service
    return "unknown"
