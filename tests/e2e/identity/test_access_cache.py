"""Two API processes (two apps, each with its own container) on one database: a
deactivation through one is refused at once by that one, and by the other within
``HDUCE_ACCOUNT_CACHE_TTL`` (with Redis: PostgreSQL + Redis; embedded: SQLite)."""

from __future__ import annotations

import asyncio
import time

from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    AppFactory,
    Backend,
    assert_problem,
    bearer,
    create_account,
    login,
    register,
)


async def test_a_deactivation_reaches_the_other_process_within_the_ttl(
    make_client: AppFactory, backend: Backend
) -> None:
    env = {"HDUCE_ACCOUNT_CACHE_TTL": "1s"}
    first = await make_client(env, backend=backend)
    second = await make_client(env, backend=backend)
    await create_account(first, Role.ADMIN, "root@example.org")
    admin = (await login(first, "root@example.org"))["access_token"]
    user = await register(first, "ana@example.org")
    token = (await login(first, "ana@example.org"))["access_token"]
    for client in (first, second, second):  # both caches warm
        assert (await client.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200

    patch = await first.patch(
        f"{API}/admin/users/{user['id']}", headers=bearer(admin), json={"is_active": False}
    )
    assert patch.status_code == 200, patch.text
    deactivated = time.monotonic()

    me = await first.get(f"{API}/auth/me", headers=bearer(token))
    assert "deactivated" in assert_problem(me, 401, "unauthenticated")["detail"]
    while (me := await second.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200:
        assert time.monotonic() - deactivated < 1.5, "still accepted past the 1 s TTL"
        await asyncio.sleep(0.05)
    assert "deactivated" in assert_problem(me, 401, "unauthenticated")["detail"]
