"""Two-factor sign-in for staff over HTTP: enrolment with a QR code, confirmation,
sign-in with a TOTP code or a recovery code, replay, throttling, removal, the admin
policy (``HDUCE_REQUIRE_ADMIN_2FA``) and Google sign-in.

Codes are computed by pyotp from the secret the enrolment handed out, at the app's
fixed clock (``NOW``, moved by 30 s steps when a fresh code is needed), except for the
Google test, which runs on the real clock (its ID tokens are checked against it).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

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
    assert_problem,
    bearer,
    create_account,
    google_env,
)
from tests.e2e.identity.test_google_sign_in import sign_in_with_google
from tests.e2e.oidc_provider import LocalOpenIdProvider
from tests.fakes import FixedClock
from tests.services import SmtpServer

TWO_FA = f"{API}/auth/2fa"
STEP = timedelta(seconds=30)


async def password_login(client: Client, email: str) -> httpx.Response:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    client.cookies.clear()  # bearer only from here on
    return response


async def tokens_of(client: Client, email: str) -> dict[str, Any]:
    response = await password_login(client, email)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def challenge_of(client: Client, email: str) -> str:
    response = await password_login(client, email)
    body = assert_problem(response, 401, "second-factor-required")
    assert body["expires_in"] == 300 and "/auth/2fa/verify" in body["detail"]
    assert "set-cookie" not in response.headers  # no session yet
    challenge: str = body["challenge"]
    return challenge


async def verify(client: Client, challenge: str, **proof: str) -> httpx.Response:
    response = await client.post(f"{TWO_FA}/verify", json={"challenge": challenge, **proof})
    client.cookies.clear()
    return response


async def enrolled(client: Client, headers: dict[str, str]) -> tuple[pyotp.TOTP, list[str]]:
    """Enrol and confirm an authenticator for the caller: its TOTP and recovery codes."""
    started = await client.post(f"{TWO_FA}/enrol", headers=headers)
    assert started.status_code == 200, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        f"{TWO_FA}/confirm", headers=headers, json={"code": totp.at(client.fixed_clock.now())}
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return totp, codes


async def test_enrol_confirm_and_sign_in_with_codes(
    make_client: AppFactory, backend: Backend
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(backend=backend, clock=clock)
    doctor = await create_account(client, Role.DOCTOR, "house@example.org")
    headers = bearer((await tokens_of(client, doctor["email"]))["access_token"])

    status = await client.get(TWO_FA, headers=headers)
    assert status.status_code == 200, status.text
    assert status.json() == {
        "enrolled": False,
        "confirmed_at": None,
        "pending": False,
        "recovery_codes_left": 0,
        "required": False,
    }

    # Enrolment: the secret, its otpauth:// URI and its QR code (inline and as an image).
    started = await client.post(f"{TWO_FA}/enrol", headers=headers)
    assert started.status_code == 200, started.text
    assert started.headers["cache-control"] == "no-store"
    enrolment = started.json()
    secret = enrolment["secret"]
    assert enrolment["otpauth_uri"] == pyotp.TOTP(secret).provisioning_uri(
        name="house@example.org", issuer_name="HDUCE"
    )
    assert enrolment["qr_code"].startswith("data:image/svg+xml")
    image = await client.get(enrolment["qr_code_url"], headers=headers)
    assert image.status_code == 200, image.text
    assert image.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in image.content
    totp = pyotp.TOTP(secret)
    assert (await client.get(TWO_FA, headers=headers)).json()["pending"] is True

    # Pending: signing in does not ask for a code yet.
    assert (await password_login(client, doctor["email"])).status_code == 200

    # A wrong code does not confirm; the right one does, and shows 10 recovery codes once.
    wrong = await client.post(f"{TWO_FA}/confirm", headers=headers, json={"code": "000000"})
    body = assert_problem(wrong, 400, "invalid-input")
    assert body["errors"][0]["field"] == "code"
    confirmed = await client.post(
        f"{TWO_FA}/confirm", headers=headers, json={"code": totp.at(clock.now())}
    )
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10
    status = (await client.get(TWO_FA, headers=headers)).json()
    assert status["enrolled"] and not status["pending"] and status["recovery_codes_left"] == 10

    # Sign-in now needs a code: a wrong one is refused, the right one signs in.
    challenge = await challenge_of(client, doctor["email"])
    refused = await verify(client, challenge, code="123456")
    assert "not right" in assert_problem(refused, 401, "unauthenticated")["detail"]
    # The code that confirmed (this very time step) was used already: a replay.
    replayed = await verify(client, challenge, code=totp.at(clock.now()))
    assert "used already" in assert_problem(replayed, 401, "unauthenticated")["detail"]
    clock.advance(STEP)
    code = totp.at(clock.now())
    signed_in = await verify(client, challenge, code=code)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.headers["cache-control"] == "no-store"
    assert "__Host-hduce_access" in signed_in.headers.get("set-cookie", "")
    pair = signed_in.json()
    me = await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == "house@example.org"
    # The session remembers its second factor: refreshing asks for nothing.
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    # The challenge was single use.
    again = await verify(client, challenge, code=code)
    assert "expired or was used" in assert_problem(again, 401, "unauthenticated")["detail"]

    # The same code again, on a new sign-in within its window: refused.
    challenge = await challenge_of(client, doctor["email"])
    replay = await verify(client, challenge, code=code)
    assert "used already" in assert_problem(replay, 401, "unauthenticated")["detail"]

    # A recovery code signs in once (typed in capitals, without hyphens).
    typed = recovery[0].replace("-", "").upper()
    by_recovery = await verify(client, challenge, recovery_code=typed)
    assert by_recovery.status_code == 200, by_recovery.text
    challenge = await challenge_of(client, doctor["email"])
    used = await verify(client, challenge, recovery_code=recovery[0])
    assert "used already" in assert_problem(used, 401, "unauthenticated")["detail"]
    both = await verify(client, challenge, code=code, recovery_code=recovery[1])
    assert_problem(both, 400, "invalid-input")
    assert (await client.get(TWO_FA, headers=headers)).json()["recovery_codes_left"] == 9

    # Turning it off needs a good code; then the password alone signs in again.
    off = await client.request("DELETE", TWO_FA, headers=headers, json={"code": "000000"})
    assert_problem(off, 400, "invalid-input")
    clock.advance(STEP)
    off = await client.request(
        "DELETE", TWO_FA, headers=headers, json={"code": totp.at(clock.now())}
    )
    assert off.status_code == 204, off.text
    assert (await password_login(client, doctor["email"])).status_code == 200

    # Each step is in the audit log, without codes or secrets.
    uow_factory = await client.container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        page = await uow.audit.list(target_id=doctor["id"])
    actions = [entry.action for entry in page.items]
    for action in (
        "auth.second_factor_enrolled",
        "auth.second_factor_passed",
        "auth.second_factor_failed",
        "auth.second_factor_removed",
    ):
        assert action in actions, actions
    flattened = repr([entry.details for entry in page.items])
    assert secret not in flattened and code not in flattened and recovery[0] not in flattened


async def test_wrong_codes_kill_the_challenge_then_throttle_the_account(
    make_client: AppFactory, backend: Backend
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(backend=backend, clock=clock)
    admin = await create_account(client, Role.ADMIN, "root@example.org")
    headers = bearer((await tokens_of(client, admin["email"]))["access_token"])
    totp, _ = await enrolled(client, headers)
    clock.advance(STEP)

    # Five wrong codes: the challenge dies (the right code no longer helps).
    challenge = await challenge_of(client, admin["email"])
    for _ in range(4):
        assert_problem(await verify(client, challenge, code="000000"), 401, "unauthenticated")
    dead = await verify(client, challenge, code="000000")
    assert "sign in again" in assert_problem(dead, 401, "unauthenticated")["detail"]
    late = await verify(client, challenge, code=totp.at(clock.now()))
    assert "expired or was used" in assert_problem(late, 401, "unauthenticated")["detail"]

    # Five more on a new challenge: ten for the account, which now waits (429).
    challenge = await challenge_of(client, admin["email"])
    for _ in range(5):
        await verify(client, challenge, code="000000")
    challenge = await challenge_of(client, admin["email"])
    throttled = await verify(client, challenge, code=totp.at(clock.now()))
    body = assert_problem(throttled, 429, "rate-limited")
    assert int(throttled.headers["retry-after"]) == body["retry_after_seconds"] > 0

    if backend.name != "embedded":
        return  # Redis counts its windows on the real clock, which the test cannot move
    # After the window, the right code works again.
    clock.advance(timedelta(minutes=15, seconds=30))
    challenge = await challenge_of(client, admin["email"])
    assert (await verify(client, challenge, code=totp.at(clock.now()))).status_code == 200


async def test_patients_cannot_enrol(client: Client) -> None:
    patient = await create_account(client, Role.PATIENT, "pat@example.org")
    headers = bearer((await tokens_of(client, patient["email"]))["access_token"])
    for method, path, body in (
        ("GET", "", None),
        ("POST", "/enrol", None),
        ("GET", "/enrol/qr", None),
        ("POST", "/confirm", {"code": "123456"}),
        ("DELETE", "", {"code": "123456"}),
    ):
        response = await client.request(method, f"{TWO_FA}{path}", headers=headers, json=body)
        assert_problem(response, 403, "forbidden")
    anonymous = await client.post(f"{TWO_FA}/enrol")
    assert_problem(anonymous, 401, "unauthenticated")


async def test_confirming_needs_an_enrolment(client: Client) -> None:
    doctor = await create_account(client, Role.DOCTOR, "doc@example.org")
    headers = bearer((await tokens_of(client, doctor["email"]))["access_token"])
    nothing = await client.post(f"{TWO_FA}/confirm", headers=headers, json={"code": "123456"})
    assert (
        "POST /api/v1/auth/2fa/enrol"
        in (assert_problem(nothing, 422, "no-pending-enrolment")["detail"])
    )
    qr = await client.get(f"{TWO_FA}/enrol/qr", headers=headers)
    assert_problem(qr, 422, "no-pending-enrolment")
    unknown = await client.post(f"{TWO_FA}/verify", json={"challenge": "forged", "code": "123456"})
    assert_problem(unknown, 401, "unauthenticated")


async def test_admins_must_enrol_when_the_policy_says_so(
    make_client: AppFactory, backend: Backend
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(
        backend=backend, clock=clock, env={"HDUCE_REQUIRE_ADMIN_2FA": "true"}
    )
    admin = await create_account(client, Role.ADMIN, "boss@example.org")
    doctor = await create_account(client, Role.DOCTOR, "gp@example.org")

    # An admin without a second factor signs in, but may only enrol.
    first = await tokens_of(client, admin["email"])
    headers = bearer(first["access_token"])
    for path in ("/admin/users", "/auth/me", "/appointments"):
        refused = await client.get(f"{API}{path}", headers=headers)
        body = assert_problem(refused, 403, "second-factor-enrolment-required")
        assert "POST /api/v1/auth/2fa/enrol" in body["detail"], body
    status = (await client.get(TWO_FA, headers=headers)).json()
    assert status["required"] and not status["enrolled"]
    # Doctors are not bound by it.
    doctor_headers = bearer((await tokens_of(client, doctor["email"]))["access_token"])
    assert (await client.get(f"{API}/appointments", headers=doctor_headers)).status_code == 200

    other_session = bearer((await tokens_of(client, admin["email"]))["access_token"])
    totp, _ = await enrolled(client, headers)
    # The session that confirmed proved a code: it is let through from now on.
    assert (await client.get(f"{API}/admin/users", headers=headers)).status_code == 200
    # A session opened with the password alone is not: sign in again, with a code.
    stale = await client.get(f"{API}/admin/users", headers=other_session)
    assert (
        "sign in again" in assert_problem(stale, 403, "second-factor-enrolment-required")["detail"]
    )

    clock.advance(STEP)
    challenge = await challenge_of(client, admin["email"])
    signed_in = await verify(client, challenge, code=totp.at(clock.now()))
    assert signed_in.status_code == 200, signed_in.text
    pair = signed_in.json()
    assert (
        await client.get(f"{API}/admin/users", headers=bearer(pair["access_token"]))
    ).status_code == 200
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    client.cookies.clear()
    assert (
        await client.get(f"{API}/admin/users", headers=bearer(refreshed.json()["access_token"]))
    ).status_code == 200

    # The policy keeps it on: an admin cannot turn it off.
    clock.advance(STEP)
    off = await client.request(
        "DELETE", TWO_FA, headers=headers, json={"code": totp.at(clock.now())}
    )
    assert_problem(off, 422, "second-factor-required-by-policy")
    # A restricted admin session may still sign out.
    assert (await client.post(f"{API}/auth/logout", headers=other_session)).status_code == 204


@pytest.fixture
async def google(make_client: AppFactory, local_oidc: LocalOpenIdProvider) -> Client:
    return await make_client(env=google_env(local_oidc))


async def test_google_sign_in_of_enrolled_staff_needs_the_second_factor(
    google: Client, local_oidc: LocalOpenIdProvider
) -> None:
    doctor = await create_account(google, Role.DOCTOR, "ada@example.org")
    response = await google.post(
        f"{API}/auth/login", json={"email": doctor["email"], "password": PASSWORD}
    )
    google.cookies.clear()
    headers = bearer(response.json()["access_token"])
    started = await google.post(f"{TWO_FA}/enrol", headers=headers)
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await google.post(
        f"{TWO_FA}/confirm", headers=headers, json={"code": totp.at(time.time())}
    )
    assert confirmed.status_code == 200, confirmed.text

    callback = await sign_in_with_google(google, local_oidc)
    body = assert_problem(callback, 401, "second-factor-required")
    assert "__Host-hduce_access" not in callback.headers.get("set-cookie", "")
    # The next step's code: the current one was spent by the confirmation.
    signed_in = await verify(google, body["challenge"], code=totp.at(time.time(), counter_offset=1))
    assert signed_in.status_code == 200, signed_in.text
    me = await google.get(f"{API}/auth/me", headers=bearer(signed_in.json()["access_token"]))
    assert me.json()["email"] == "ada@example.org" and me.json()["google_linked"]


async def test_the_admin_policy_reads_the_database_once_per_session(
    make_client: AppFactory, backend: Backend
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(
        backend=backend, clock=clock, env={"HDUCE_REQUIRE_ADMIN_2FA": "true"}
    )
    admin = await create_account(client, Role.ADMIN, "chief@example.org")
    headers = bearer((await tokens_of(client, admin["email"]))["access_token"])
    totp, _ = await enrolled(client, headers)
    clock.advance(STEP)
    challenge = await challenge_of(client, admin["email"])
    signed_in = await verify(client, challenge, code=totp.at(clock.now()))
    session = bearer(signed_in.json()["access_token"])

    engine = await client.container.get(AsyncEngine)
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        for _ in range(5):
            assert (await client.get(f"{API}/admin/users", headers=session)).status_code == 200
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
    policy_reads = [sql for sql in seen if "second_factor" in sql or "totp_" in sql]
    assert len(policy_reads) == 1, policy_reads  # the session's first request only


async def test_a_browser_enrols_and_signs_in_with_cookies(make_client: AppFactory) -> None:
    """Cookie sessions: the 2FA routes need the CSRF header on unsafe methods like any
    other, a challenge sets no cookie, and verifying sets the session cookies."""
    clock = FixedClock(NOW)
    client = await make_client(clock=clock)
    doctor = await create_account(client, Role.DOCTOR, "browser@example.org")
    response = await client.post(
        f"{API}/auth/login", json={"email": doctor["email"], "password": PASSWORD}
    )
    assert response.status_code == 200
    csrf = client.cookies["__Host-hduce_csrf"]
    assert_problem(await client.post(f"{TWO_FA}/enrol"), 403, "csrf-failed")
    started = await client.post(f"{TWO_FA}/enrol", headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        f"{TWO_FA}/confirm",
        json={"code": totp.at(clock.now())},
        headers={"X-CSRF-Token": csrf},
    )
    assert confirmed.status_code == 200, confirmed.text

    client.cookies.clear()
    clock.advance(STEP)
    challenged = await client.post(
        f"{API}/auth/login", json={"email": doctor["email"], "password": PASSWORD}
    )
    challenge = assert_problem(challenged, 401, "second-factor-required")["challenge"]
    assert "__Host-hduce_access" not in client.cookies
    signed_in = await client.post(
        f"{TWO_FA}/verify", json={"challenge": challenge, "code": totp.at(clock.now())}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert client.cookies["__Host-hduce_access"] == signed_in.json()["access_token"]
    status = await client.get(TWO_FA)  # authenticated by the cookie alone
    assert status.status_code == 200 and status.json()["enrolled"] is True


async def test_the_owner_is_emailed_when_two_factor_changes(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(
        backend=backend, clock=clock, env={"HDUCE_SMTP_URL": smtp_server.url}
    )
    email = f"mail-{uuid.uuid4().hex[:10]}@example.org"
    doctor = await create_account(client, Role.DOCTOR, email)
    headers = bearer((await tokens_of(client, doctor["email"]))["access_token"])
    totp, recovery = await enrolled(client, headers)
    # A new phone: enrol and confirm again.
    clock.advance(STEP)
    started = await client.post(f"{TWO_FA}/enrol", headers=headers)
    new_totp = pyotp.TOTP(started.json()["secret"])
    replaced = await client.post(
        f"{TWO_FA}/confirm", headers=headers, json={"code": new_totp.at(clock.now())}
    )
    assert replaced.status_code == 200, replaced.text
    recovery = replaced.json()["recovery_codes"]
    signed_in = await verify(client, await challenge_of(client, email), recovery_code=recovery[0])
    assert signed_in.status_code == 200, signed_in.text
    clock.advance(STEP)
    off = await client.request(
        "DELETE", TWO_FA, headers=headers, json={"code": new_totp.at(clock.now())}
    )
    assert off.status_code == 204, off.text

    deliver = await client.container.get(DeliverPendingNotifications)
    await deliver()
    subjects = [
        "Two-factor sign-in is on",
        "A new authenticator app was set up",
        "A recovery code was used to sign in",
        "Two-factor sign-in was turned off",
    ]
    for subject in subjects:
        await smtp_server.wait_for(lambda m, s=subject: email in m.rcpt_tos and m.subject == s)
    used = await smtp_server.wait_for(lambda m: email in m.rcpt_tos and m.subject == subjects[2])
    assert "(9 left)" in used.text() and recovery[0] not in used.text()
    assert totp.secret not in repr([m.raw for m in smtp_server.messages if email in m.rcpt_tos])
