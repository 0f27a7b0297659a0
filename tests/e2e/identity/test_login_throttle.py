"""Login throttling over HTTP with the production rules: strangers' failures do not lock
the owner out, guessing clients get 429 + Retry-After, the brake is audited and logged."""

from __future__ import annotations

import logging
import uuid
from contextlib import AsyncExitStack

import pytest

from hduce.application.identity.policy import IdentityPolicy
from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    PASSWORD,
    AppFactory,
    Backend,
    Client,
    access_token,
    assert_problem,
    bearer,
    create_account,
    login,
)

DEFAULTS = IdentityPolicy()
PRODUCTION_LOGIN_RULES = {
    "login_per_ip": DEFAULTS.login_per_ip,
    "login_per_account_client": DEFAULTS.login_per_account_client,
    "login_per_account": DEFAULTS.login_per_account,
}
WRONG = "not the password, a guess"


def unique_email() -> str:
    """Counters per account live in the shared Redis across tests and runs: a fresh one."""
    return f"ana-{uuid.uuid4().hex[:12]}@example.org"


async def test_fifty_failures_from_elsewhere_do_not_lock_the_owner_out(
    make_client: AppFactory, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await make_client(backend=backend, **PRODUCTION_LOGIN_RULES)
    email = unique_email()
    user = await create_account(owner, Role.PATIENT, email)
    await create_account(owner, Role.ADMIN, "root@example.org")
    caplog.set_level(logging.WARNING, logger="hduce.security")
    async with AsyncExitStack() as stack:
        # Fifty clients, each from its own address, each one wrong password.
        attackers = [await stack.enter_async_context(Client(owner.app)) for _ in range(50)]
        for attacker in attackers:
            response = await attacker.post(
                f"{API}/auth/login", json={"email": email, "password": WRONG}
            )
            assert_problem(response, 401, "unauthenticated")
        # The account cools down: a client that failed on it waits, even with the password.
        again = await attackers[-1].post(
            f"{API}/auth/login", json={"email": email, "password": PASSWORD}
        )
        body = assert_problem(again, 429, "rate-limited")
        assert 1 <= int(again.headers["retry-after"]) <= DEFAULTS.login_per_account.window_seconds
        assert body["retry_after_seconds"] == int(again.headers["retry-after"])

    # The owner's own client never failed: the right password signs in.
    tokens = await login(owner, email)
    me = await owner.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["id"] == user["id"]

    admin = await access_token(owner, "root@example.org")
    trail = await owner.get(
        f"{API}/admin/audit", params={"action": "auth.login_throttled"}, headers=bearer(admin)
    )
    assert trail.status_code == 200, trail.text
    [entry] = trail.json()["items"]  # once, when the brake engaged
    assert (entry["target_type"], entry["target_id"]) == ("user", user["id"])
    assert entry["details"]["scope"] == "account"
    assert entry["details"]["limit"] == DEFAULTS.login_per_account.limit
    lines = [r.getMessage() for r in caplog.records if "auth.login_throttled" in r.getMessage()]
    assert len(lines) == 1 and user["id"] in lines[0]
    for text in (trail.text, *lines):
        assert WRONG not in text and PASSWORD not in text


async def test_a_guessing_client_gets_429_with_retry_after(make_client: AppFactory) -> None:
    client = await make_client(**PRODUCTION_LOGIN_RULES)
    await create_account(client, Role.PATIENT, "ana@example.org")
    for _ in range(DEFAULTS.login_per_account_client.limit):
        response = await client.post(
            f"{API}/auth/login", json={"email": "ana@example.org", "password": WRONG}
        )
        assert_problem(response, 401, "unauthenticated")
    limited = await client.post(
        f"{API}/auth/login", json={"email": "ANA@example.org", "password": PASSWORD}
    )
    assert_problem(limited, 429, "rate-limited")
    window = DEFAULTS.login_per_account_client.window_seconds
    assert window - 5 <= int(limited.headers["retry-after"]) <= window
    # Another client (the owner's) is not held back by that one.
    async with Client(client.app) as elsewhere:
        assert (await login(elsewhere, "ana@example.org"))["access_token"]
