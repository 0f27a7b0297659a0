"""Security events leave an audit entry (``GET /admin/audit``) and a log line: refused
sign-ins, throttled sign-ins (once per window, not once per attempt), reuse of a rotated
refresh token, (de)activation. Never the password, the token or an unknown address."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import pytest

from hduce.application.identity.policy import RateRule, account_rate_key
from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    PASSWORD,
    AppFactory,
    Backend,
    Client,
    create_account,
    register,
    sign_in,
)

WRONG_PASSWORD = "Not-The-Password-4491!"
SECURITY_LOGGER = "hduce.security"


async def audit(client: Client, admin: dict[str, str], action: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/admin/audit", params={"action": action}, headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def unique(name: str) -> str:
    """An address no earlier run used: per-account rate limits live on in a shared Redis."""
    return f"{name}-{uuid.uuid4().hex[:12]}@example.org"


async def an_admin(client: Client) -> dict[str, str]:
    email = unique("root")
    await create_account(client, Role.ADMIN, email)
    return await sign_in(client, email)


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == SECURITY_LOGGER]


def session_of(access_token: str) -> str:
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sid"])


def leaked(secret: str, caplog: pytest.LogCaptureFixture, *bodies: Any) -> bool:
    return secret in caplog.text or any(secret in json.dumps(body) for body in bodies)


async def test_refused_sign_ins_are_audited_without_the_password(
    make_client: AppFactory, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(backend=backend)
    admin = await an_admin(client)
    user = await register(client, "ana@example.org")
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)

    for email in ("ana@example.org", "typo-ana@example.org"):
        refused = await client.post(
            f"{API}/auth/login", json={"email": email, "password": WRONG_PASSWORD}
        )
        assert refused.status_code == 401

    entries = await audit(client, admin, "auth.login_failed")
    by_target = {entry["target_type"]: entry for entry in entries}
    assert set(by_target) == {"user", "email"}
    known, unknown = by_target["user"], by_target["email"]
    assert known["target_id"] == user["id"]
    assert known["details"] == {"reason": "wrong-password", "client_ip": client.address}
    assert unknown["target_id"] == account_rate_key("typo-ana@example.org")
    assert unknown["details"] == {"reason": "unknown-account", "client_ip": client.address}
    assert all(entry["actor_role"] == "system" for entry in entries)
    lines = security_lines(caplog)
    assert any("auth.login_failed" in line and user["id"] in line for line in lines)
    assert not leaked(WRONG_PASSWORD, caplog, entries)
    assert not leaked("typo-ana", caplog, entries)  # an unknown address is only its hash


async def test_a_lockout_is_audited_once_per_window(
    make_client: AppFactory, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(backend=backend, login_per_account=RateRule(3, 900))
    admin = await an_admin(client)
    email = unique("bea")
    user = await register(client, email)
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)

    statuses = [
        (
            await client.post(
                f"{API}/auth/login", json={"email": email, "password": WRONG_PASSWORD}
            )
        ).status_code
        for _ in range(8)
    ]

    assert statuses == [401] * 3 + [429] * 5
    throttled = await audit(client, admin, "auth.login_throttled")
    assert [(entry["target_type"], entry["target_id"]) for entry in throttled] == [
        ("user", user["id"])
    ]
    details = throttled[0]["details"]
    assert (details["scope"], details["client"], details["limit"]) == ("account", client.address, 3)
    assert len(await audit(client, admin, "auth.login_failed")) == 3
    assert sum("auth.login_throttled" in line for line in security_lines(caplog)) == 1
    assert not leaked(WRONG_PASSWORD, caplog, throttled)


async def test_a_client_throttle_is_audited_against_the_client(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(login_per_ip=RateRule(2, 300))
    admin = await an_admin(client)  # its sign-in is the first of the two
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)

    for email in ("x@example.org", "y@example.org", "z@example.org"):
        await client.post(f"{API}/auth/login", json={"email": email, "password": WRONG_PASSWORD})

    throttled = await audit(client, admin, "auth.login_throttled")
    assert [(entry["target_type"], entry["target_id"]) for entry in throttled] == [
        ("client", client.address)
    ]


async def test_refresh_token_reuse_is_audited_without_the_token(
    make_client: AppFactory, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(backend=backend)
    admin = await an_admin(client)
    user = await register(client, "cleo@example.org")
    login = await client.post(
        f"{API}/auth/login", json={"email": "cleo@example.org", "password": PASSWORD}
    )
    client.cookies.clear()
    stolen = login.json()["refresh_token"]
    rotated = await client.post(f"{API}/auth/refresh", json={"refresh_token": stolen})
    assert rotated.status_code == 200
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)

    replayed = await client.post(f"{API}/auth/refresh", json={"refresh_token": stolen})

    assert replayed.status_code == 401
    entries = await audit(client, admin, "auth.refresh_token_reused")
    assert [(entry["target_type"], entry["target_id"]) for entry in entries] == [
        ("user", user["id"])
    ]
    assert entries[0]["details"] == {"session_id": session_of(login.json()["access_token"])}
    assert any("auth.refresh_token_reused" in line for line in security_lines(caplog))
    for token in (stolen, rotated.json()["refresh_token"], login.json()["access_token"]):
        assert not leaked(token, caplog, entries)


async def test_activation_changes_are_audited_and_logged(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await an_admin(client)
    user = await register(client, "dora@example.org")
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)

    for active in (False, True):
        response = await client.patch(
            f"{API}/admin/users/{user['id']}", json={"is_active": active}, headers=admin
        )
        assert response.status_code == 200

    for action in ("user.deactivated", "user.activated"):
        entries = await audit(client, admin, action)
        assert [entry["target_id"] for entry in entries] == [user["id"]]
        assert any(
            line.startswith(action) and user["id"] in line for line in security_lines(caplog)
        )
