"""Tokens for other services, over HTTP (ADR 0016): an admin registers service clients;
a client introspects (RFC 7662) and revokes (RFC 7009) HDUCE tokens; the signing keys
live in the database, rotate, and the JWKS publishes every key that verifies a live
token. On both backends (SQLite; PostgreSQL + Redis), the clock fixed."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from hduce.application.identity.signing_keys import RotateSigningKeys
from hduce.application.ports import AccessTokenVerifier
from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    NOW,
    PASSWORD,
    AppFactory,
    Backend,
    Client,
    assert_problem,
    bearer,
    create_account,
    session,
)
from tests.fakes import FixedClock

#: Keys in the database: an asymmetric algorithm and no key file.
DATABASE_KEYS = {"HDUCE_JWT_ALGORITHM": "Ed25519"}
CLIENTS = f"{API}/admin/service-clients"
INTROSPECT = f"{API}/oauth/introspect"
REVOKE = f"{API}/oauth/revoke"
JWKS = "/.well-known/jwks.json"
FORM = "application/x-www-form-urlencoded"


def basic(client_id: str, secret: str) -> dict[str, str]:
    """client_secret_basic: both parts form-urlencoded, joined, base64 (RFC 6749 §2.3.1)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


class World:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.admin: dict[str, str] = {}
        self.service: dict[str, Any] = {}
        self.patient_id = ""

    @property
    def clock(self) -> FixedClock:
        return self.client.fixed_clock

    async def open(self) -> World:
        await create_account(self.client, Role.ADMIN, "admin@example.org")
        patient = await create_account(self.client, Role.PATIENT, "ana@example.org")
        self.patient_id = patient["id"]
        self.admin = bearer((await session(self.client, "admin@example.org"))["access_token"])
        self.service = await self.register("Radiology PACS")
        return self

    async def register(self, name: str) -> dict[str, Any]:
        response = await self.client.post(CLIENTS, json={"name": name}, headers=self.admin)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def patient_session(self) -> dict[str, Any]:
        return await session(self.client, "ana@example.org", PASSWORD)

    async def introspect(
        self, token: str, *, auth: dict[str, Any] | None = None, **form: str
    ) -> Any:
        service = auth or self.service
        return await self.client.post(
            INTROSPECT,
            data={"token": token, **form},
            headers=basic(service["client_id"], service["client_secret"]),
        )

    async def active(self, token: str, **form: str) -> dict[str, Any]:
        response = await self.introspect(token, **form)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body

    async def revoke(self, token: str, **form: str) -> None:
        response = await self.client.post(
            REVOKE,
            data={"token": token, **form},
            headers=basic(self.service["client_id"], self.service["client_secret"]),
        )
        assert response.status_code == 200, response.text
        assert response.content == b""


@pytest.fixture
async def world(backend: Backend, make_client: AppFactory) -> World:
    client = await make_client(env=DATABASE_KEYS, backend=backend, clock=FixedClock(NOW))
    return await World(client).open()


# ------------------------------------------------------------------ service clients


async def test_an_admin_registers_lists_and_revokes_service_clients(world: World) -> None:
    service = world.service
    assert set(service) == {"client_id", "client_secret", "name", "created_at"}
    assert service["name"] == "Radiology PACS" and service["client_id"].startswith("svc_")
    listed = (await world.client.get(CLIENTS, headers=world.admin)).json()["items"]
    assert [item["client_id"] for item in listed] == [service["client_id"]]
    assert "client_secret" not in listed[0] and listed[0]["is_active"] is True

    response = await world.client.post(
        f"{CLIENTS}/{service['client_id']}/revoke", headers=world.admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert response.json()["revoked_at"] == "2030-01-07T08:00:00Z"
    audit = await world.client.get(
        f"{API}/admin/audit", params={"target_id": service["client_id"]}, headers=world.admin
    )
    assert [(entry["action"], entry["actor_role"]) for entry in audit.json()["items"]] == [
        ("service_client.revoked", "admin"),
        ("service_client.registered", "admin"),
    ]
    missing = await world.client.post(f"{CLIENTS}/svc_nobody/revoke", headers=world.admin)
    assert_problem(missing, 404, "not-found")
    patient = bearer((await world.patient_session())["access_token"])
    assert (await world.client.get(CLIENTS, headers=patient)).status_code == 403
    refused = await world.client.post(CLIENTS, json={"name": ""}, headers=world.admin)
    assert refused.status_code == 400
    unknown_field = await world.client.post(
        CLIENTS, json={"name": "x", "scopes": ["all"]}, headers=world.admin
    )
    assert unknown_field.status_code == 400


# ------------------------------------------------------------------ introspection


async def test_a_client_introspects_a_live_access_token(world: World) -> None:
    tokens = await world.patient_session()
    body = await world.active(tokens["access_token"])
    assert body["active"] is True
    assert body["token_type"] == "access_token"
    assert body["sub"] == world.patient_id
    assert body["role"] == "patient"
    assert body["iss"] == "hduce" and body["aud"] == "hduce-api"
    assert body["iat"] == int(NOW.timestamp())
    assert body["exp"] == int((NOW + timedelta(minutes=15)).timestamp())
    assert body["jti"] and body["sid"]

    # The same with client_secret_post, and with the refresh token.
    posted = await world.client.post(
        INTROSPECT,
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": world.service["client_id"],
            "client_secret": world.service["client_secret"],
        },
    )
    assert posted.status_code == 200, posted.text
    refresh = posted.json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert refresh["sub"] == world.patient_id and refresh["sid"] == body["sid"]


async def test_expired_revoked_and_garbage_tokens_are_inactive(world: World) -> None:
    tokens = await world.patient_session()
    for garbage in ("garbage", "a.b.c", tokens["access_token"][:-4] + "AAAA", "x" * 9000):
        response = await world.introspect(garbage)
        if len(garbage) > 8192:
            assert response.status_code == 400  # longer than any token: the form is refused
            continue
        assert response.json() == {"active": False}, garbage
    # Hints that point the wrong way, or are unknown, change nothing.
    assert (await world.active(tokens["access_token"], token_type_hint="refresh_token"))["active"]
    assert (await world.active(tokens["access_token"], token_type_hint="id_token"))["active"]

    world.clock.advance(minutes=16)  # past exp and the 30 s leeway
    assert await world.active(tokens["access_token"]) == {"active": False}

    world.clock.set(NOW)
    logout = await world.client.post(f"{API}/auth/logout", headers=bearer(tokens["access_token"]))
    assert logout.status_code == 204
    assert await world.active(tokens["access_token"]) == {"active": False}
    assert await world.active(tokens["refresh_token"]) == {"active": False}


async def test_bad_client_credentials_are_refused(world: World) -> None:
    token = (await world.patient_session())["access_token"]
    wrong = {**world.service, "client_secret": "not-the-secret"}
    for auth in (wrong, {**world.service, "client_id": "svc_unknown"}):
        response = await world.introspect(token, auth=auth)
        body = assert_problem(response, 401, "invalid-client")
        assert body["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")

    anonymous = await world.client.post(INTROSPECT, data={"token": token})
    assert_problem(anonymous, 401, "invalid-client")
    # A user's bearer token is no client credential.
    as_user = await world.client.post(INTROSPECT, data={"token": token}, headers=bearer(token))
    assert_problem(as_user, 401, "invalid-client")
    both = await world.client.post(
        INTROSPECT,
        data={"token": token, "client_id": world.service["client_id"], "client_secret": "x"},
        headers=basic(world.service["client_id"], world.service["client_secret"]),
    )
    assert_problem(both, 400, "invalid-request")
    as_json = await world.client.post(
        INTROSPECT,
        json={"token": token},
        headers=basic(world.service["client_id"], world.service["client_secret"]),
    )
    assert as_json.status_code == 415
    unknown_field = await world.client.post(
        INTROSPECT,
        data={"token": token, "scope": "all"},
        headers=basic(world.service["client_id"], world.service["client_secret"]),
    )
    assert unknown_field.status_code == 400

    revoked = await world.client.post(
        f"{CLIENTS}/{world.service['client_id']}/revoke", headers=world.admin
    )
    assert revoked.status_code == 200
    assert_problem(await world.introspect(token), 401, "invalid-client")
    assert (
        await world.client.post(
            REVOKE,
            data={"token": token},
            headers=basic(world.service["client_id"], world.service["client_secret"]),
        )
    ).status_code == 401


# ------------------------------------------------------------------ revocation


async def test_revoking_a_refresh_token_ends_the_session(world: World) -> None:
    tokens = await world.patient_session()
    await world.revoke(tokens["refresh_token"], token_type_hint="refresh_token")
    audit = await world.client.get(
        f"{API}/admin/audit", params={"action": "oauth.token_revoked"}, headers=world.admin
    )
    [entry] = audit.json()["items"]
    assert entry["target_id"] == world.patient_id
    assert entry["details"] == {
        "client_id": world.service["client_id"],
        "token_type": "refresh_token",
    }
    assert await world.active(tokens["refresh_token"]) == {"active": False}
    assert await world.active(tokens["access_token"]) == {"active": False}
    refreshed = await world.client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_problem(refreshed, 401, "unauthenticated")
    me = await world.client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401


async def test_revoking_an_access_token_and_unknown_tokens(world: World) -> None:
    tokens = await world.patient_session()
    other = await world.patient_session()
    await world.revoke(tokens["access_token"])
    assert await world.active(tokens["access_token"]) == {"active": False}
    assert (
        await world.client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    refreshed = await world.client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401  # the session it belonged to is over
    # Another session of the same person is not affected.
    assert (await world.active(other["access_token"]))["active"] is True
    # Unknown, malformed or already revoked: 200 all the same (RFC 7009 §2.2).
    for token in ("unknown", "a.b.c", tokens["access_token"], tokens["refresh_token"]):
        await world.revoke(token)


# ------------------------------------------------------------------ signing keys


async def _jwks(client: Client) -> dict[str, Any]:
    response = await client.get(JWKS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _header_kid(token: str) -> str:
    segment = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return str(header["kid"])


async def test_key_rotation_keeps_old_tokens_valid_until_they_expire(world: World) -> None:
    client = world.client
    before = await world.patient_session()
    first_kid = _header_kid(before["access_token"])
    assert [key["kid"] for key in (await _jwks(client))["keys"]] == [first_kid]

    # What `hduce keys rotate` does; then the app re-reads the keys (its reload task
    # would, within HDUCE_JWT_KEY_RELOAD_INTERVAL).
    rotate = await client.container.get(RotateSigningKeys)
    rotation = await rotate()
    second_kid = rotation.new_key.kid
    assert rotation.new_key.state == "next"
    await _reload(client)
    published = await _jwks(client)
    assert [key["kid"] for key in published["keys"]] == [first_kid, second_kid]
    # Published before it signs: tokens still carry the old key for now.
    assert _header_kid((await world.patient_session())["access_token"]) == first_kid

    world.clock.advance(minutes=1)  # two reload intervals (30 s each): the new key signs
    after = await world.patient_session()
    assert _header_kid(after["access_token"]) == second_kid
    # Both verify, and a client can check each against the JWKS itself.
    keys = KeySet.import_key_set(published)
    for token in (before["access_token"], after["access_token"]):
        assert (await world.active(token))["active"] is True
        jwt.decode(token, keys, algorithms=["Ed25519"])
    me = await client.get(f"{API}/auth/me", headers=bearer(before["access_token"]))
    assert me.status_code == 200

    # The old key stays until the last token it signed has expired (15 min + 30 s leeway
    # after it stopped signing), then leaves the JWKS; the tokens it signed are dead.
    world.clock.advance(minutes=15, seconds=29)
    assert [key["kid"] for key in (await _jwks(client))["keys"]] == [first_kid, second_kid]
    world.clock.advance(seconds=2)
    assert [key["kid"] for key in (await _jwks(client))["keys"]] == [second_kid]
    assert await world.active(before["access_token"]) == {"active": False}
    assert (await world.active((await world.patient_session())["access_token"]))["active"]


async def _reload(client: Client) -> None:
    verifier: Any = await client.container.get(AccessTokenVerifier)
    await verifier.reload()


async def test_a_deactivated_account_has_no_live_token(world: World) -> None:
    tokens = await world.patient_session()
    response = await world.client.patch(
        f"{API}/admin/users/{world.patient_id}", json={"is_active": False}, headers=world.admin
    )
    assert response.status_code == 200, response.text
    assert await world.active(tokens["access_token"]) == {"active": False}
    assert await world.active(tokens["refresh_token"]) == {"active": False}


async def test_introspection_with_the_default_hs256_tokens(make_client: AppFactory) -> None:
    """Introspection does not depend on the signing keys: with HS256 (the default, the
    secret never published) other services can still ask HDUCE."""
    world = await World(await make_client(clock=FixedClock(NOW))).open()
    assert (await world.client.get(JWKS)).status_code == 404
    tokens = await world.patient_session()
    body = await world.active(tokens["access_token"])
    assert body["active"] is True and body["sub"] == world.patient_id
    await world.revoke(tokens["access_token"])
    assert await world.active(tokens["access_token"]) == {"active": False}
