"""The identity HTTP flows through the real app: register, login, me, refresh with
rotation and reuse detection, logout, deactivation, enumeration safety, errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.ports import UnitOfWorkFactory, UserQuery
from hduce.domain.identity import Role
from hduce.entrypoints.http.auth.schemas import REGISTRATION_RECEIVED
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
    login,
    register,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer


async def test_register_login_me_refresh_logout(make_client: AppFactory, backend: Backend) -> None:
    client = await make_client(backend=backend)
    user = await register(client, "Ana@Example.ORG", full_name="Ana Torres")
    assert user["email"] == "ana@example.org" and user["role"] == "patient"
    assert user["has_password"] and not {"password", "password_hash"} & set(user)

    tokens = await login(client, "ana@EXAMPLE.org")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_expires_in"] == 30 * 86400

    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert {k: me.json()[k] for k in ("id", "email", "full_name", "role")} == {
        "id": user["id"],
        "email": "ana@example.org",
        "full_name": "Ana Torres",
        "role": "patient",
    }

    rotated = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    pair = rotated.json()
    assert pair["refresh_token"] != tokens["refresh_token"]
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))
    ).status_code == 200

    # Replaying the rotated token closes the session: the new pair dies with it.
    replay = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert "used already" in assert_problem(replay, 401, "unauthenticated")["detail"]
    dead = await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(dead, 401, "unauthenticated")
    me = await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))
    assert_problem(me, 401, "unauthenticated")

    # A new session, then logout: its access and refresh tokens stop working.
    fresh = await login(client, "ana@example.org")
    out = await client.post(f"{API}/auth/logout", headers=bearer(fresh["access_token"]))
    assert out.status_code == 204
    me = await client.get(f"{API}/auth/me", headers=bearer(fresh["access_token"]))
    assert "revoked" in assert_problem(me, 401, "unauthenticated")["detail"]
    again = await client.post(f"{API}/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert_problem(again, 401, "unauthenticated")


async def test_profile_update(client: Client) -> None:
    await register(client, "ana@example.org")
    token = (await login(client, "ana@example.org"))["access_token"]
    response = await client.patch(
        f"{API}/auth/me",
        headers=bearer(token),
        json={
            "full_name": "Ana M. Torres",
            "phone": "+34 600 111 222",
            "timezone": "Europe/Madrid",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["full_name"], body["phone"], body["timezone"]) == (
        "Ana M. Torres",
        "+34600111222",
        "Europe/Madrid",
    )
    cleared = await client.patch(f"{API}/auth/me", headers=bearer(token), json={"phone": None})
    assert cleared.json()["phone"] is None and cleared.json()["full_name"] == "Ana M. Torres"
    bad = await client.patch(f"{API}/auth/me", headers=bearer(token), json={"timezone": "Mars/X"})
    assert assert_problem(bad, 400, "invalid-input")["errors"][0]["field"] == "timezone"
    unknown = await client.patch(f"{API}/auth/me", headers=bearer(token), json={"role": "admin"})
    assert_problem(unknown, 400, "invalid-request")
    email = await client.patch(
        f"{API}/auth/me", headers=bearer(token), json={"email": "x@example.org"}
    )
    assert email.status_code == 400  # the email (and the role) are not self-service


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ana@example.org", "password": "short", "full_name": "A"}, "password"),
        ({"email": "ana@example.org", "password": "qwertyuiop", "full_name": "A"}, "password"),
        ({"email": "ana@example.org", "password": "Password2024!", "full_name": "A"}, "password"),
        (
            {"email": "ana@example.org", "password": "ana@example.org1", "full_name": "A"},
            "password",
        ),
        ({"email": "not-an-email", "password": PASSWORD, "full_name": "A"}, "email"),
        ({"email": "ana@example.org", "password": PASSWORD, "full_name": " "}, "full_name"),
    ],
)
async def test_registration_refusals_are_400_problems(
    client: Client, body: dict[str, str], field: str
) -> None:
    response = await client.post(f"{API}/auth/register", json=body)
    problem = assert_problem(response, 400, "invalid-input")
    assert problem["errors"][0]["field"] == field


async def test_self_registration_cannot_choose_a_role(client: Client) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "x@example.org", "password": PASSWORD, "full_name": "X", "role": "admin"},
    )
    assert_problem(response, 400, "invalid-request")


async def _deliver_emails(client: Client) -> int:
    """What the worker's delivery sweep does: send the pending emails (through SMTP)."""
    deliver = await client.container.get(DeliverPendingNotifications)
    return await deliver()


async def test_a_taken_email_answers_like_a_new_one_and_its_owner_is_told(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    """Changed in issue 11: a taken email answered 409 ``already-exists``, telling anyone
    which addresses have accounts. Now both answers are the same 202."""
    client = await make_client(backend=backend, env={"HDUCE_SMTP_URL": smtp_server.url})
    taken, free = (
        f"ana-{uuid.uuid4().hex[:10]}@example.org",
        f"new-{uuid.uuid4().hex[:10]}@example.org",
    )
    owner = await register(client, taken, full_name="Ana Torres")

    def attempt(email: str, name: str) -> Any:
        body = {"email": email, "password": "another passphrase 42", "full_name": name}
        return client.post(f"{API}/auth/register", json=body)

    again, new = await attempt(taken.upper(), "Mallory"), await attempt(free, "Nadia")
    for response, email in ((again, taken), (new, free)):
        assert response.status_code == 202, response.text
        assert response.json() == {"email": email, "detail": REGISTRATION_RECEIVED}
        assert response.headers["cache-control"] == "no-store"
    assert again.headers.keys() - {"x-request-id"} == new.headers.keys() - {"x-request-id"}

    # Nothing changed for the owner: their password still signs in, and only theirs.
    assert (await login(client, taken))["access_token"]
    refused = await client.post(
        f"{API}/auth/login", json={"email": taken, "password": "another passphrase 42"}
    )
    assert_problem(refused, 401, "unauthenticated")

    # The owner hears of it by email, and the new account's owner is welcomed (and,
    # since issue 15, asked to confirm the address: that link leaves at once).
    assert await _deliver_emails(client) == 3
    confirm = "Confirm your email address"
    for email in (taken, free):
        await smtp_server.wait_for(lambda m, to=email: to in m.rcpt_tos and m.subject == confirm)
    mails = [m for m in smtp_server.messages if {taken, free} & set(m.rcpt_tos)]
    assert sorted((m.rcpt_tos, m.subject) for m in mails) == [
        ((taken,), confirm),
        ((taken,), "Someone tried to register with your email address"),
        ((taken,), "Your new account"),
        ((free,), confirm),
        ((free,), "Your new account"),
    ]
    [warning] = [m for m in mails if m.subject.startswith("Someone")]
    assert "already has one" in warning.text() and "Mallory" not in warning.text()
    assert owner["email"] == taken


async def test_confusable_spellings_of_an_email_are_one_account(client: Client) -> None:
    user = await register(client, "ana@example.org")
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "ＡＮＡ@ｅｘａｍｐｌｅ.org", "password": PASSWORD, "full_name": "Other"},
    )
    assert response.status_code == 202 and response.json()["email"] == "ana@example.org"
    listed = await client.container.get(UnitOfWorkFactory)
    async with listed() as uow:
        assert (await uow.users.list(UserQuery())).total == 1
    tokens = await login(client, "ａｎａ@ＥＸＡＭＰＬＥ.org")
    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["id"] == user["id"]


def _comparable(response: Any) -> tuple[int, dict[str, Any], str | None]:
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    return response.status_code, body, response.headers.get("www-authenticate")


async def test_login_failures_are_identical_for_known_and_unknown_emails(client: Client) -> None:
    await register(client, "ana@example.org")
    await create_account(client, Role.PATIENT, "google-only@example.org", password=None)
    wrong_password = await client.post(
        f"{API}/auth/login", json={"email": "ana@example.org", "password": "wrong password!"}
    )
    unknown = await client.post(
        f"{API}/auth/login", json={"email": "nobody@example.org", "password": "wrong password!"}
    )
    malformed = await client.post(
        f"{API}/auth/login", json={"email": "nobody", "password": "wrong password!"}
    )
    passwordless = await client.post(
        f"{API}/auth/login", json={"email": "google-only@example.org", "password": "x" * 12}
    )
    assert_problem(wrong_password, 401, "unauthenticated")
    assert (
        _comparable(wrong_password)
        == _comparable(unknown)
        == _comparable(malformed)
        == _comparable(passwordless)
    )
    assert wrong_password.headers["www-authenticate"] == "Bearer"


async def test_deactivated_users_cannot_log_in_and_their_tokens_stop_working(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend)
    await create_account(client, Role.ADMIN, "root@example.org")
    admin = (await login(client, "root@example.org"))["access_token"]
    user = await register(client, "ana@example.org")
    tokens = await login(client, "ana@example.org")

    patch = await client.patch(
        f"{API}/admin/users/{user['id']}", headers=bearer(admin), json={"is_active": False}
    )
    assert patch.status_code == 200 and patch.json()["is_active"] is False

    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert "deactivated" in assert_problem(me, 401, "unauthenticated")["detail"]
    refresh = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_problem(refresh, 401, "unauthenticated")
    again = await client.post(
        f"{API}/auth/login", json={"email": "ana@example.org", "password": PASSWORD}
    )
    assert_problem(again, 401, "unauthenticated")

    listed = await client.get(
        f"{API}/admin/users", headers=bearer(admin), params={"is_active": "false"}
    )
    assert [u["email"] for u in listed.json()["items"]] == ["ana@example.org"]

    # Reactivated: a new login works; the old session stays closed.
    await client.patch(
        f"{API}/admin/users/{user['id']}", headers=bearer(admin), json={"is_active": True}
    )
    assert (await login(client, "ana@example.org"))["access_token"]
    refresh = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_problem(refresh, 401, "unauthenticated")


async def test_reactivation_does_not_revive_access_tokens_issued_before(
    make_client: AppFactory, backend: Backend
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(backend=backend, clock=clock)
    await create_account(client, Role.ADMIN, "root@example.org")
    user = await create_account(client, Role.PATIENT, "ana@example.org")
    old = (await login(client, "ana@example.org"))["access_token"]
    client.cookies.clear()
    admin = bearer((await login(client, "root@example.org"))["access_token"])
    client.cookies.clear()
    for is_active in (False, True):
        clock.advance(seconds=60)
        response = await client.patch(
            f"{API}/admin/users/{user['id']}", headers=admin, json={"is_active": is_active}
        )
        assert response.status_code == 200 and response.json()["is_active"] is is_active
    # Three minutes old: well within its 15 minutes, yet issued before the deactivation.
    me = await client.get(f"{API}/auth/me", headers=bearer(old))
    assert "revoked" in assert_problem(me, 401, "unauthenticated")["detail"]
    new = (await login(client, "ana@example.org"))["access_token"]
    client.cookies.clear()
    me = await client.get(f"{API}/auth/me", headers=bearer(new))
    assert me.status_code == 200 and me.json()["id"] == user["id"]


async def test_admin_user_list_filters(client: Client) -> None:
    await create_account(client, Role.ADMIN, "root@example.org", name="Root")
    await create_account(client, Role.DOCTOR, "house@example.org", name="Gregory House")
    await create_account(client, Role.DOCTOR, "wilson@example.org", name="James Wilson")
    await register(client, "ana@example.org", full_name="Ana Torres")
    admin = (await login(client, "root@example.org"))["access_token"]

    doctors = await client.get(
        f"{API}/admin/users", headers=bearer(admin), params={"role": "doctor"}
    )
    assert doctors.status_code == 200
    assert sorted(u["email"] for u in doctors.json()["items"]) == [
        "house@example.org",
        "wilson@example.org",
    ]
    found = await client.get(
        f"{API}/admin/users", headers=bearer(admin), params={"search": "HOUSE"}
    )
    assert [u["full_name"] for u in found.json()["items"]] == ["Gregory House"]
    page = await client.get(
        f"{API}/admin/users", headers=bearer(admin), params={"limit": 2, "offset": 1}
    )
    assert (page.json()["total"], page.json()["limit"], len(page.json()["items"])) == (4, 2, 2)
    bad = await client.get(f"{API}/admin/users", headers=bearer(admin), params={"limit": 0})
    assert_problem(bad, 400, "invalid-request")
    own = await client.get(f"{API}/auth/me", headers=bearer(admin))
    selfie = await client.patch(
        f"{API}/admin/users/{own.json()['id']}", headers=bearer(admin), json={"is_active": False}
    )
    assert_problem(selfie, 422, "self-deactivation")
    missing = await client.patch(
        f"{API}/admin/users/00000000-0000-0000-0000-000000000000",
        headers=bearer(admin),
        json={"is_active": False},
    )
    assert_problem(missing, 404, "not-found")


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer", "Bearer not.a.jwt", "Bearer " + "x" * 10_000],
)
async def test_bad_credentials_are_401_problems(client: Client, authorization: str) -> None:
    response = await client.get(f"{API}/auth/me", headers={"Authorization": authorization})
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_token_for_another_audience_is_refused(make_client: AppFactory) -> None:
    other = await make_client(env={"HDUCE_JWT_AUDIENCE": "another-api"})
    mine = await make_client()
    await register(other, "ana@example.org")
    token = (await login(other, "ana@example.org"))["access_token"]  # same database
    assert_problem(await mine.get(f"{API}/auth/me", headers=bearer(token)), 401, "unauthenticated")


async def test_public_endpoints_ignore_a_stale_access_cookie(client: Client) -> None:
    await register(client, "ana@example.org")
    client.cookies.set("__Host-hduce_access", "stale.garbage.token", domain="testserver.local")
    response = await client.post(
        f"{API}/auth/login", json={"email": "ana@example.org", "password": PASSWORD}
    )
    assert response.status_code == 200


async def test_logout_without_any_credentials_is_401(client: Client) -> None:
    assert_problem(await client.post(f"{API}/auth/logout"), 401, "unauthenticated")


async def test_logout_with_only_a_refresh_token(client: Client) -> None:
    await register(client, "ana@example.org")
    tokens = await login(client, "ana@example.org")
    client.cookies.clear()
    response = await client.post(
        f"{API}/auth/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert_problem(me, 401, "unauthenticated")  # the session's access tokens die too
