"""Sessions and devices over HTTP: ``GET /auth/sessions`` (client, network, first and last
use, the current one marked), ending one or all others (its refresh token refused at
once, its access token too, in this process and in another one), the admin's view of
an account's sessions, the new-device sign-in notice (in the app and by email, through
the outbox and the notification policy), and ``POST /auth/password``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    NOW,
    PASSWORD,
    AppFactory,
    Backend,
    Client,
    ClinicWorld,
    assert_problem,
    bearer,
    create_account,
    issued_headers,
    register,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CURL = "curl/8.5.0"
SESSIONS = f"{API}/auth/sessions"


def _email() -> str:
    return f"ana-{uuid.uuid4().hex[:10]}@example.org"


async def sign_in(
    client: httpx.AsyncClient, email: str, user_agent: str, password: str = PASSWORD
) -> dict[str, Any]:
    """A login from ``user_agent`` (bearer tokens only: cookies dropped)."""
    response = await client.post(
        f"{API}/auth/login",
        json={"email": email, "password": password},
        headers={"user-agent": user_agent},
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    tokens: dict[str, Any] = response.json()
    return tokens


def network_of(client: Client) -> str:
    return client.address.rsplit(".", 1)[0] + ".0/24"


async def listed(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    response = await client.get(SESSIONS, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def refresh(client: httpx.AsyncClient, tokens: dict[str, Any], user_agent: str) -> Any:
    return await client.post(
        f"{API}/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"user-agent": user_agent},
    )


async def assert_session_dead(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    """The session's access token is refused now, and so is its refresh token."""
    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert "revoked" in assert_problem(me, 401, "unauthenticated")["detail"]
    again = await refresh(client, tokens, FIREFOX)
    assert_problem(again, 401, "unauthenticated")


async def assert_session_alive(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text


# ------------------------------------------------------------------ listing and ending


async def test_my_sessions_are_listed_with_client_network_and_the_current_one(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend, clock=FixedClock(NOW))
    email = _email()
    await register(client, email)
    laptop = await sign_in(client, email, FIREFOX)
    client.fixed_clock.advance(minutes=5)
    phone = await sign_in(client, email, IPHONE)
    client.fixed_clock.advance(minutes=5)
    phone = (await refresh(client, phone, IPHONE)).json()

    items = await listed(client, laptop["access_token"])
    assert [(i["client"], i["current"]) for i in items] == [
        ("Mobile Safari on iOS", False),  # most recently used first
        ("Firefox on Linux", True),
    ]
    phone_row, laptop_row = items
    # Only the network is kept, never the full address.
    assert {i["network"] for i in items} == {network_of(client)}
    assert client.address not in str(items)
    assert laptop_row["user_agent"] == FIREFOX
    assert laptop_row["created_at"] == laptop_row["last_used_at"] == "2030-01-07T08:00:00Z"
    assert phone_row["created_at"] == "2030-01-07T08:05:00Z"
    assert phone_row["last_used_at"] == "2030-01-07T08:10:00Z"  # its refresh
    # The phone sees the same sessions, its own marked.
    assert [i["current"] for i in await listed(client, phone["access_token"])] == [True, False]


async def test_ending_a_session_stops_its_refresh_and_access_tokens_at_once(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend)
    email = _email()
    await register(client, email)
    laptop, phone = await sign_in(client, email, FIREFOX), await sign_in(client, email, IPHONE)
    [phone_id] = [i["id"] for i in await listed(client, laptop["access_token"]) if not i["current"]]
    await assert_session_alive(client, phone)  # its access state is cached now

    ended = await client.delete(f"{SESSIONS}/{phone_id}", headers=bearer(laptop["access_token"]))
    assert ended.status_code == 204, ended.text

    await assert_session_dead(client, phone)
    await assert_session_alive(client, laptop)
    assert [i["client"] for i in await listed(client, laptop["access_token"])] == [
        "Firefox on Linux"
    ]
    # Ended, unknown, or someone else's: the same 404.
    again = await client.delete(f"{SESSIONS}/{phone_id}", headers=bearer(laptop["access_token"]))
    assert_problem(again, 404, "not-found")
    other = _email()
    await register(client, other)
    stranger = await sign_in(client, other, CURL)
    [laptop_id] = [i["id"] for i in await listed(client, laptop["access_token"])]
    theirs = await client.delete(
        f"{SESSIONS}/{laptop_id}", headers=bearer(stranger["access_token"])
    )
    assert_problem(theirs, 404, "not-found")
    await assert_session_alive(client, laptop)
    unknown = await client.delete(
        f"{SESSIONS}/{uuid.uuid4()}", headers=bearer(laptop["access_token"])
    )
    assert_problem(unknown, 404, "not-found")

    # Ending the current session is signing out.
    own = await client.delete(f"{SESSIONS}/{laptop_id}", headers=bearer(laptop["access_token"]))
    assert own.status_code == 204
    await assert_session_dead(client, laptop)


async def test_ending_all_other_sessions_keeps_the_current_one(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend)
    email = _email()
    await register(client, email)
    current = await sign_in(client, email, FIREFOX)
    others = [await sign_in(client, email, IPHONE), await sign_in(client, email, CURL)]

    response = await client.delete(SESSIONS, headers=bearer(current["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 2}

    for tokens in others:
        await assert_session_dead(client, tokens)
    await assert_session_alive(client, current)
    assert [i["current"] for i in await listed(client, current["access_token"])] == [True]
    assert (await client.delete(SESSIONS, headers=bearer(current["access_token"]))).json() == {
        "revoked": 0
    }


async def test_a_session_ended_through_one_process_is_refused_by_another_at_once(
    make_client: AppFactory, production: Backend
) -> None:
    """Two API processes on PostgreSQL + Redis: the session id joins the shared denylist,
    so the other process refuses the access token at its next request, although its
    account cache (``HDUCE_ACCOUNT_CACHE_TTL``) still holds the account as active."""
    env = {"HDUCE_ACCOUNT_CACHE_TTL": "60s"}
    first = await make_client(env, backend=production)
    second = await make_client(env, backend=production)
    email = _email()
    await register(first, email)
    laptop, phone = await sign_in(first, email, FIREFOX), await sign_in(second, email, IPHONE)
    await assert_session_alive(second, phone)  # the second process's cache is warm
    [phone_id] = [i["id"] for i in await listed(first, laptop["access_token"]) if not i["current"]]

    ended = await first.delete(f"{SESSIONS}/{phone_id}", headers=bearer(laptop["access_token"]))
    assert ended.status_code == 204

    await assert_session_dead(second, phone)
    await assert_session_alive(second, laptop)


# ------------------------------------------------------------------ the admin


async def test_an_admin_sees_and_ends_the_sessions_of_an_account(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend)
    await create_account(client, Role.ADMIN, admin_email := _email())
    admin = await sign_in(client, admin_email, FIREFOX)
    email = _email()
    user = await register(client, email)
    laptop, phone = await sign_in(client, email, FIREFOX), await sign_in(client, email, IPHONE)
    url = f"{API}/admin/users/{user['id']}/sessions"

    response = await client.get(url, headers=bearer(admin["access_token"]))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert sorted(i["client"] for i in items) == ["Firefox on Linux", "Mobile Safari on iOS"]
    assert not any(i["current"] for i in items)  # none of them is the admin's
    [phone_id] = [i["id"] for i in items if i["client"].startswith("Mobile")]

    one = await client.delete(f"{url}/{phone_id}", headers=bearer(admin["access_token"]))
    assert one.status_code == 204, one.text
    await assert_session_dead(client, phone)
    await assert_session_alive(client, laptop)

    everything = await client.delete(url, headers=bearer(admin["access_token"]))
    assert everything.json() == {"revoked": 1}
    await assert_session_dead(client, laptop)
    await assert_session_alive(client, admin)
    assert (await client.get(url, headers=bearer(admin["access_token"]))).json() == {"items": []}
    # The account stays active: its owner signs in again.
    await sign_in(client, email, FIREFOX)
    missing = await client.get(
        f"{API}/admin/users/{uuid.uuid4()}/sessions", headers=bearer(admin["access_token"])
    )
    assert_problem(missing, 404, "not-found")


async def test_ending_sessions_needs_the_csrf_header_with_cookies(client: Client) -> None:
    email = _email()
    await register(client, email)
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    # The browser's cookies authenticate; without X-CSRF-Token an unsafe request is refused.
    assert (await client.get(SESSIONS)).status_code == 200
    assert_problem(await client.delete(SESSIONS), 403, "csrf-failed")
    csrf = client.cookies["__Host-hduce_csrf"]
    allowed = await client.delete(SESSIONS, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 200 and allowed.json() == {"revoked": 0}


# ------------------------------------------------------------------ new devices


async def _deliver(world: ClinicWorld) -> None:
    """What a worker does: relay the outbox to the notification handler, send the emails."""
    await world.deliver_events()
    await (await world.container.get(DeliverPendingNotifications))()


async def test_a_sign_in_from_a_new_device_is_told_in_the_app_and_by_email(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        {"HDUCE_SMTP_URL": smtp_server.url}, backend=backend, clock=FixedClock(NOW)
    )
    world = ClinicWorld(client=client, container=client.container, clock=client.fixed_clock)
    email = _email()
    await register(client, email)
    # The account's first session tells nobody (every device is new then); the same
    # client from the same network again is no new device either.
    laptop = await sign_in(client, email, FIREFOX)
    await sign_in(client, email, FIREFOX)
    await _deliver(world)
    assert not [m for m in smtp_server.messages if email in m.rcpt_tos and "sign-in" in m.subject]

    # Another client: a new device. So is the same client from another network.
    await sign_in(client, email, IPHONE)
    elsewhere = Client(client.app, client.clock)
    async with elsewhere:
        await sign_in(elsewhere, email, FIREFOX)
    await _deliver(world)

    mails = [m for m in smtp_server.messages if email in m.rcpt_tos]
    notices = sorted(m.text() for m in mails if m.subject == "New sign-in to your account")
    assert len(notices) == 2, [m.subject for m in mails]
    phone_mail, laptop_mail = sorted(notices, key=lambda text: "Mobile Safari" not in text)
    assert "Mobile Safari on iOS" in phone_mail and network_of(client) in phone_mail
    assert "Firefox on Linux" in laptop_mail and network_of(elsewhere) in laptop_mail
    assert client.address not in phone_mail and elsewhere.address not in laptop_mail
    assert "(UTC)" in phone_mail  # in the owner's timezone

    inbox = await client.get(f"{API}/notifications", headers=bearer(laptop["access_token"]))
    assert inbox.status_code == 200, inbox.text
    titles = [n["title"] for n in inbox.json()["items"] if n["type"] == "user.new_device_signed_in"]
    assert titles == ["New sign-in to your account"] * 2

    # Delivered once, however often the outbox is relayed again.
    await _deliver(world)
    again = [m for m in smtp_server.messages if email in m.rcpt_tos]
    assert len(again) == len(mails)


# ------------------------------------------------------------------ changing the password


async def test_changing_the_password_ends_the_other_sessions_and_tells_the_owner(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        {"HDUCE_SMTP_URL": smtp_server.url}, backend=backend, clock=FixedClock(NOW)
    )
    world = ClinicWorld(client=client, container=client.container, clock=client.fixed_clock)
    email = _email()
    await register(client, email)
    current, other = await sign_in(client, email, FIREFOX), await sign_in(client, email, IPHONE)
    url, auth = f"{API}/auth/password", bearer(current["access_token"])
    new = "a brand new passphrase 2030"

    wrong = await client.post(
        url, headers=auth, json={"current_password": "not it at all", "new_password": new}
    )
    problem = assert_problem(wrong, 400, "invalid-input")
    assert problem["errors"][0]["field"] == "current_password"
    weak = await client.post(
        url, headers=auth, json={"current_password": PASSWORD, "new_password": "qwertyuiop"}
    )
    assert assert_problem(weak, 400, "invalid-input")["errors"][0]["field"] == "new_password"
    same = await client.post(
        url, headers=auth, json={"current_password": PASSWORD, "new_password": PASSWORD}
    )
    assert assert_problem(same, 400, "invalid-input")["errors"][0]["field"] == "new_password"
    extra = await client.post(
        url, headers=auth, json={"current_password": PASSWORD, "new_password": new, "x": 1}
    )
    assert_problem(extra, 400, "invalid-request")
    await assert_session_alive(client, other)  # nothing changed so far

    changed = await client.post(
        url, headers=auth, json={"current_password": PASSWORD, "new_password": new}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["sessions_ended"] == 1
    assert changed.headers["cache-control"] == "no-store"

    await assert_session_dead(client, other)
    await assert_session_alive(client, current)
    assert (await refresh(client, current, FIREFOX)).status_code == 200
    old = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert_problem(old, 401, "unauthenticated")
    client.cookies.clear()
    await sign_in(client, email, FIREFOX, password=new)

    await _deliver(world)
    [mail] = [
        m
        for m in smtp_server.messages
        if email in m.rcpt_tos and m.subject == "Your password was changed"
    ]
    assert "1 other session was signed out" in mail.text()
    assert "did not change it" in mail.text()


async def test_password_changes_are_rate_limited_per_account(client: Client) -> None:
    email = _email()
    await register(client, email)
    auth = bearer((await sign_in(client, email, FIREFOX))["access_token"])
    body = {"current_password": "not it at all", "new_password": "a brand new passphrase"}
    statuses = [
        (await client.post(f"{API}/auth/password", headers=auth, json=body)).status_code
        for _ in range(6)
    ]
    assert statuses == [400] * 5 + [429]


async def test_an_account_without_a_password_cannot_change_it(client: Client) -> None:
    """An account made for Google sign-in only has no password to re-authenticate with."""
    await create_account(client, Role.DOCTOR, email := _email(), password=None)
    uow_factory = await client.container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        user = await uow.users.get_by_email(email)
    assert user is not None
    response = await client.post(
        f"{API}/auth/password",
        headers=await issued_headers(client.container, user, datetime.now(UTC)),
        json={"current_password": "anything at all", "new_password": "a brand new passphrase"},
    )
    assert_problem(response, 422, "no-password")
