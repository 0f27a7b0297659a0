"""Overload and outages answer 503 ``service-unavailable`` with ``Retry-After``, never 500.

* A real ``hduce api`` server (granian, its own process) on PostgreSQL and Redis with
  tiny pools (one database connection, two Redis connections, half a second of waiting)
  takes 500 concurrent signed-in requests: every answer is 2xx or a 503 problem, and
  the server never holds more database connections than its pool allows.
* With the database unreachable, refusing this client (``too many connections``) or
  Redis unreachable, signed-in and anonymous requests that need them answer 503, and so
  does readiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from hduce.application.ports import AccessTokenIssuer
from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    PROBLEM_JSON,
    SECRET,
    AppFactory,
    Backend,
    Client,
    bearer,
    create_account,
    login,
    start_app,
)
from tests.e2e.server import clean_environment, running_server
from tests.services import asyncpg_dsn, free_port

REQUESTS = 500
#: A signed-in read that needs Redis (the token denylist) and the database (the
#: account, then the count) on every call.
SIGNED_IN_READ = f"{API}/notifications/unread-count"
TINY_POOLS = {
    "HDUCE_DATABASE_POOL_SIZE": "1",
    "HDUCE_DATABASE_MAX_OVERFLOW": "0",
    # Short: a signed-in read holds the one connection well under a millisecond now
    # (authentication is cached), so 500 of them no longer queue for half a second.
    "HDUCE_DATABASE_POOL_TIMEOUT": "1ms",
    "HDUCE_REDIS_MAX_CONNECTIONS": "2",
    "HDUCE_REDIS_POOL_TIMEOUT": "500ms",
}
#: Redis (checked first) lets everything through, so the database pool is what runs out.
TINY_DATABASE_POOL = TINY_POOLS | {"HDUCE_REDIS_MAX_CONNECTIONS": "500"}


def assert_unavailable(response: httpx.Response) -> dict[str, Any]:
    """A 503 problem+json ``service-unavailable`` telling when to retry."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (503, "service-unavailable"), body
    assert body["retry_after_seconds"] == retry_after
    return body


async def assert_not_ready(client: httpx.AsyncClient, down: str) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["checks"][down]["status"] == "down"


# ------------------------------------------------------------------ 500 at once


def server_log(folder: Path) -> list[dict[str, Any]]:
    """The JSON lines ``running_server`` logged to ``folder``."""
    return [
        json.loads(line)
        for log in folder.glob("api-*.log")
        for line in log.read_text().splitlines()
        if line.strip()
    ]


async def backend_connections(admin_url: str, database: str, peak: list[int]) -> None:
    """Keep ``peak[0]`` at the most connections the server held to ``database``."""
    connection = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=10)
    try:
        while True:
            count = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = $1 AND application_name = 'hduce'",
                database,
            )
            peak[0] = max(peak[0], count)
            await asyncio.sleep(0.02)
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("pools", "exhausted"),
    [(TINY_POOLS, {"redis", "database"}), (TINY_DATABASE_POOL, {"database"})],
    ids=["tiny-pools", "tiny-database-pool"],
)
async def test_500_concurrent_signed_in_requests_get_only_2xx_or_503(
    production: Backend,
    postgres_url: str,
    tmp_path: Path,
    pools: Mapping[str, str],
    exhausted: set[str],
) -> None:
    email = f"storm-{uuid.uuid4().hex[:8]}@example.org"
    # Seeded in process, then stopped: only the server under test holds connections.
    async with start_app(production) as seeding:
        await create_account(seeding, Role.PATIENT, email, name="Storm Patient")
    env = clean_environment(HDUCE_JWT_SECRET=SECRET, HDUCE_LOG_LEVEL="WARNING")
    env |= production.env | pools

    database = make_url(production.env["HDUCE_DATABASE_URL"]).database
    assert database is not None
    peak = [0]
    with running_server(tmp_path, env, command="api") as base_url:
        limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=base_url, limits=limits, timeout=httpx.Timeout(60.0)
        ) as client:
            headers = bearer((await login(client, email))["access_token"])
            client.cookies.clear()
            watcher = asyncio.create_task(backend_connections(postgres_url, database, peak))
            try:
                responses = await asyncio.gather(
                    *(client.get(SIGNED_IN_READ, headers=headers) for _ in range(REQUESTS))
                )
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

            statuses = Counter(response.status_code for response in responses)
            assert set(statuses) <= {200, 503}, statuses
            assert statuses[200] > 0, statuses
            # Else the pools were never exhausted and this proved nothing.
            assert statuses[503] > 0, statuses
            for response in responses:
                if response.status_code == 503:
                    assert_unavailable(response)
            # The pools were only waited on: the server still serves, and is ready.
            assert (await client.get(SIGNED_IN_READ, headers=headers)).status_code == 200
            assert (await client.get("/health/ready")).status_code == 200
    # pool size 1 + overflow 0: one connection, whatever the load.
    assert peak[0] == 1, peak
    # Each 503 logged one line naming the pool that ran out (and no traceback).
    logged = server_log(tmp_path)
    outages = Counter(
        (line["service"], line["outage"])
        for line in logged
        if line.get("event") == "service unavailable"
    )
    assert sum(outages.values()) == statuses[503], outages
    assert {service for service, _ in outages} <= exhausted, outages
    assert not [line for line in logged if line.get("level") in {"error", "critical"}]


# ------------------------------------------------------------------ services down


def nothing_listens() -> str:
    return f"127.0.0.1:{free_port()}"


async def signed_in(client: Client) -> dict[str, str]:
    """A valid access token for an account the server cannot look up right now."""
    issuer = await client.container.get(AccessTokenIssuer)  # type: ignore[type-abstract]
    token = issuer.issue(user_id=uuid.uuid4(), role=Role.PATIENT, now=datetime.now(UTC))
    return bearer(token.token)


async def assert_database_requests_unavailable(client: Client) -> None:
    assert_unavailable(await client.get(f"{API}/auth/me", headers=await signed_in(client)))
    assert_unavailable(await client.get(SIGNED_IN_READ, headers=await signed_in(client)))
    assert_unavailable(
        await client.post(
            f"{API}/auth/login", json={"email": "ada@example.org", "password": "x" * 12}
        )
    )
    assert_unavailable(await client.get(f"{API}/specialties"))
    await assert_not_ready(client, "database")


async def test_an_unreachable_database_answers_503(make_client: AppFactory) -> None:
    backend = Backend(
        "postgresql-down",
        {"HDUCE_DATABASE_URL": f"postgresql+asyncpg://hduce@{nothing_listens()}/hduce"},
    )
    client = await make_client(backend=backend)

    await assert_database_requests_unavailable(client)
    assert (await client.get("/health")).status_code == 200  # alive, only not ready


@contextlib.asynccontextmanager
async def role_without_connections(database_url: str) -> AsyncIterator[str]:
    """``database_url`` as a login role PostgreSQL refuses with "too many connections"
    (its limit is 0), as every client is refused once ``max_connections`` is reached."""
    role = f"hduce_e2e_full_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex  # for servers that do not trust local connections
    admin = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        await admin.execute(
            f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}' CONNECTION LIMIT 0"
        )
        try:
            yield (
                make_url(database_url)
                .set(username=role, password=password)
                .render_as_string(hide_password=False)
            )
        finally:
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await admin.close()


async def test_a_database_refusing_more_clients_answers_503(postgres_database: str) -> None:
    async with role_without_connections(postgres_database) as url:
        backend = Backend("postgresql-full", {"HDUCE_DATABASE_URL": url})
        async with start_app(backend) as client:
            await assert_database_requests_unavailable(client)


async def test_an_unreachable_redis_answers_503(embedded: Backend, make_client: AppFactory) -> None:
    backend = Backend(
        "redis-down", {**embedded.env, "HDUCE_REDIS_URL": f"redis://{nothing_listens()}/0"}
    )
    client = await make_client(backend=backend)

    # The token denylist lives in Redis: no signed-in request can be checked.
    assert_unavailable(await client.get(f"{API}/auth/me", headers=await signed_in(client)))
    await assert_not_ready(client, "redis")
    ready = (await client.get("/health/ready")).json()
    assert ready["checks"]["database"]["status"] == "up"
