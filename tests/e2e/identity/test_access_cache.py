"""Two API processes (two apps, each with its own container) on one database: a
deactivation through one is refused by the other on its next request with Redis, and
within ``HDUCE_ACCOUNT_CACHE_TTL`` without it."""

from __future__ import annotations

import asyncio
import time

from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    AppFactory,
    Backend,
    Client,
    assert_problem,
    bearer,
    create_account,
    login,
    register,
)


async def _deactivate(client: Client, admin: str, user_id: str) -> None:
    patch = await client.patch(
        f"{API}/admin/users/{user_id}", headers=bearer(admin), json={"is_active": False}
    )
    assert patch.status_code == 200, patch.text


async def test_a_deactivation_reaches_the_other_process_at_once_with_redis(
    make_client: AppFactory, production: Backend
) -> None:
    first = await make_client(backend=production)
    second = await make_client(backend=production)
    await create_account(first, Role.ADMIN, "root@example.org")
    admin = (await login(first, "root@example.org"))["access_token"]
    user = await register(first, "ana@example.org")
    token = (await login(first, "ana@example.org"))["access_token"]
    for client in (first, second, second):  # both caches warm
        assert (await client.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200

    await _deactivate(first, admin, user["id"])

    me = await second.get(f"{API}/auth/me", headers=bearer(token))
    assert "deactivated" in assert_problem(me, 401, "unauthenticated")["detail"]


async def test_without_redis_the_other_process_refuses_within_the_ttl(
    make_client: AppFactory, embedded: Backend
) -> None:
    env = {"HDUCE_ACCOUNT_CACHE_TTL": "1s"}
    first = await make_client(env, backend=embedded)
    second = await make_client(env, backend=embedded)
    await create_account(first, Role.ADMIN, "root@example.org")
    admin = (await login(first, "root@example.org"))["access_token"]
    user = await register(first, "ana@example.org")
    token = (await login(first, "ana@example.org"))["access_token"]
    assert (await second.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200

    await _deactivate(first, admin, user["id"])
    deactivated = time.monotonic()
    me = await first.get(f"{API}/auth/me", headers=bearer(token))
    assert_problem(me, 401, "unauthenticated")  # the process that made the change: at once
    while (await second.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200:
        assert time.monotonic() - deactivated < 1.5, "still accepted past the 1 s TTL"
        await asyncio.sleep(0.05)
