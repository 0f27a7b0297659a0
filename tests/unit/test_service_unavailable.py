"""Overload and outages answer 503 ``service-unavailable`` with ``Retry-After``, never 500.

The errors are the drivers' own (made for real where that is cheap: SQLAlchemy's pool
timeout, SQLite's lock, a refused TCP connection; constructed for PostgreSQL's refusals,
which need a server in that state). Anything else still answers 500.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hduce.adapters.redis import create_redis
from hduce.adapters.sql import create_engine
from hduce.bootstrap.outages import outage_of
from hduce.entrypoints.http.problems import problem_exception_handlers
from tests.services import free_port

PROBLEM_JSON = "application/problem+json"


def raised(error: BaseException, cause: BaseException | None = None) -> BaseException:
    """``error`` as it arrives in a handler: raised (with a traceback), from ``cause``."""
    try:
        raise error from cause
    except BaseException as caught:
        return caught


async def pool_timeout(tmp_path: Path) -> PoolTimeout:
    """SQLAlchemy's own "QueuePool limit of size 1 overflow 0 reached"."""
    engine = create_engine(
        f"sqlite+aiosqlite:///{tmp_path}/pool.db", pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    try:
        async with engine.connect():
            with pytest.raises(PoolTimeout) as caught:
                async with engine.connect():
                    pass
    finally:
        await engine.dispose()
    return caught.value


def sqlite_locked(tmp_path: Path) -> sqlite3.OperationalError:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        holder.close()
    return caught.value


async def refused_connection() -> OSError:
    """What asyncpg raises when nothing listens on the database's port."""
    with pytest.raises(OSError) as caught:
        await asyncpg.connect(host="127.0.0.1", port=free_port(), user="x", timeout=5)
    return caught.value


# ------------------------------------------------------------------ classification


async def test_an_exhausted_database_pool_is_busy(tmp_path: Path) -> None:
    outage = outage_of(await pool_timeout(tmp_path))

    assert outage is not None
    assert (outage.service, outage.kind, outage.retry_after_seconds) == ("database", "busy", 1)


async def test_a_refused_database_connection_is_down() -> None:
    outage = outage_of(await refused_connection())

    assert outage is not None
    # A bare OSError: where it was raised tells the service.
    assert (outage.service, outage.kind, outage.retry_after_seconds) == ("database", "down", 5)


def test_sqlite_locked_past_its_busy_timeout_is_busy(tmp_path: Path) -> None:
    locked = sqlite_locked(tmp_path)
    wrapped = raised(OperationalError("BEGIN IMMEDIATE", {}, locked), locked)

    outage = outage_of(wrapped)

    assert outage is not None
    assert (outage.service, outage.kind) == ("database", "busy")


def postgres_refusal(error: asyncpg.PostgresError) -> BaseException:
    """How SQLAlchemy hands on a PostgreSQL refusal at connect time."""
    return raised(DBAPIError("connect", None, error), error)


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        # "sorry, too many clients already" (53300) and the per-role/database limits.
        (lambda: asyncpg.exceptions.TooManyConnectionsError("too many clients"), "busy"),
        (lambda: asyncpg.exceptions.OutOfMemoryError("out of memory"), "busy"),
        # "the database system is starting up" / shutting down.
        (lambda: asyncpg.exceptions.CannotConnectNowError("starting up"), "down"),
        (lambda: asyncpg.exceptions.AdminShutdownError("terminating connection"), "down"),
        (lambda: asyncpg.exceptions.ConnectionFailureError("connection failure"), "down"),
    ],
)
def test_postgresql_refusing_clients_is_an_outage(
    make: Callable[[], asyncpg.PostgresError], kind: str
) -> None:
    for error in (raised(make()), postgres_refusal(make())):
        outage = outage_of(error)
        assert outage is not None, error
        assert (outage.service, outage.kind) == ("database", kind)


def test_a_connection_lost_mid_request_is_down() -> None:
    lost = InterfaceError("SELECT 1", {}, Exception("connection is closed"))
    lost.connection_invalidated = True

    outage = outage_of(raised(lost))

    assert outage is not None
    assert (outage.service, outage.kind) == ("database", "down")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        # BlockingConnectionPool's wait ran out.
        (raised(RedisConnectionError("No connection available."), TimeoutError()), "busy"),
        # redis-py's default pool: fails at once.
        (raised(MaxConnectionsError("Too many connections")), "busy"),
        (raised(RedisTimeoutError("Timeout reading from socket")), "busy"),
        (
            raised(
                RedisConnectionError("Error 111 connecting to 127.0.0.1:1."),
                ConnectionRefusedError(111, "Connect call failed"),
            ),
            "down",
        ),
    ],
)
def test_redis_overloaded_or_down_is_an_outage(error: BaseException, kind: str) -> None:
    outage = outage_of(error)

    assert outage is not None
    assert (outage.service, outage.kind) == ("redis", kind)


async def test_redis_clients_get_a_blocking_pool_of_the_configured_size() -> None:
    client = create_redis("redis://127.0.0.1:6379/0", max_connections=3, pool_timeout=0.25)
    try:
        pool = client.connection_pool
        assert isinstance(pool, BlockingConnectionPool)
        assert (pool.max_connections, pool.timeout) == (3, 0.25)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "error",
    [
        raised(socket.gaierror(-2, "Name or service not known")),
        raised(OSError("Multiple exceptions: [Errno 111] Connect call failed, [Errno 99] ...")),
        raised(OSError(113, "No route to host")),
        raised(RuntimeError("while authenticating"), ConnectionResetError(104, "reset")),
    ],
)
def test_network_failures_anywhere_in_the_chain_are_outages(error: BaseException) -> None:
    outage = outage_of(error)

    assert outage is not None
    assert (outage.service, outage.kind) == ("unknown", "down")


def test_a_timeout_is_busy() -> None:
    outage = outage_of(raised(TimeoutError("waited too long for the SQLite write lock")))

    assert outage is not None
    assert outage.kind == "busy"


@pytest.mark.parametrize(
    "error",
    [
        raised(ValueError("a bug")),
        raised(RuntimeError("a bug"), KeyError("x")),
        raised(FileNotFoundError(2, "No such file")),
        raised(PermissionError(13, "Permission denied")),
        raised(ResponseError("WRONGTYPE Operation against a key holding the wrong kind")),
        raised(
            IntegrityError("INSERT", {}, asyncpg.exceptions.UniqueViolationError("duplicate key")),
            asyncpg.exceptions.UniqueViolationError("duplicate key"),
        ),
        raised(DBAPIError("SELECT", {}, asyncpg.exceptions.UndefinedTableError("no table"))),
    ],
)
def test_bugs_are_not_outages(error: BaseException) -> None:
    assert outage_of(error) is None


# ------------------------------------------------------------------ HTTP


def app_raising(error: BaseException) -> Litestar:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise error

    return Litestar([boom], exception_handlers=problem_exception_handlers(), logging_config=None)


async def test_an_exhausted_pool_answers_503_problem_with_retry_after(tmp_path: Path) -> None:
    async with AsyncTestClient(app_raising(await pool_timeout(tmp_path))) as client:
        response = await client.get("/boom")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["code"] == "service-unavailable"
    assert body["type"].endswith("/service-unavailable")
    assert body["status"] == 503
    assert body["retry_after_seconds"] == 1
    # Nothing about the internals reaches the client.
    assert "QueuePool" not in response.text


async def test_an_unreachable_database_answers_503_with_a_longer_retry_after() -> None:
    async with AsyncTestClient(app_raising(await refused_connection())) as client:
        response = await client.get("/boom")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "service-unavailable"
    assert "127.0.0.1" not in response.text


async def test_other_errors_still_answer_500() -> None:
    async with AsyncTestClient(app_raising(RuntimeError("a bug"))) as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.json()["code"] == "internal-error"
    assert "retry-after" not in response.headers
