"""Email verification of password sign-ups, over HTTP, with the link as the SMTP server
got it (issue 15): an unverified patient signs in but may not book until they open the
link (``HDUCE_REQUIRE_VERIFIED_EMAIL_TO_BOOK``, on by default)."""

from __future__ import annotations

import asyncio

import httpx

from hduce.application.identity.policy import RateRule
from hduce.entrypoints.http.auth.link_schemas import EMAIL_VERIFIED, VERIFICATION_SENT
from tests.e2e.harness import (
    API,
    APPOINTMENTS,
    NOW,
    WEDNESDAY_10,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
    bearer,
    iso,
    register,
    session,
)
from tests.e2e.identity.links import (
    PUBLIC_URL,
    VERIFY_SUBJECT,
    link_in,
    mail_env,
    mails_to,
    received,
    unique_email,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer

VERIFY = f"{API}/auth/verify-email"
RESEND = f"{API}/auth/verify-email/resend"


async def _book(world: ClinicWorld, headers: dict[str, str]) -> httpx.Response:
    body = {"doctor_id": world.id("doctor"), "starts_at": iso(WEDNESDAY_10)}
    return await world.client.post(APPOINTMENTS, json=body, headers=headers)


async def _me(world: ClinicWorld, headers: dict[str, str]) -> dict[str, object]:
    response = await world.client.get(f"{API}/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_new_patient_books_once_the_emailed_link_is_opened(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(backend=backend, env=mail_env(smtp_server), clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    email = unique_email()
    await register(client, email)
    headers = bearer((await session(client, email))["access_token"])
    assert (await _me(world, headers))["email_verified"] is False

    refused = await _book(world, headers)
    problem = assert_problem(refused, 403, "email-not-verified")
    assert "confirm your email address" in problem["detail"]

    mail = await received(smtp_server, email, VERIFY_SUBJECT)
    page, token = link_in(mail)
    assert page == f"{PUBLIC_URL}/verify-email"
    assert "48 hours" in mail.text()
    # Anyone holding the link may open it: it needs no sign-in.
    verified = await client.post(VERIFY, json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"email": email, "email_verified": True, "detail": EMAIL_VERIFIED}
    assert (await _me(world, headers))["email_verified"] is True

    booked = await _book(world, headers)
    assert booked.status_code == 201, booked.text

    again = await client.post(VERIFY, json={"token": token})
    assert_problem(again, 410, "token-used")
    made_up = await client.post(VERIFY, json={"token": "not-a-token"})
    assert_problem(made_up, 400, "invalid-token")
    # A reset token is no verification token (nor the other way round).
    wrong_kind = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": token, "new_password": "a brand new passphrase 7"},
    )
    assert_problem(wrong_kind, 400, "invalid-token")


async def test_a_new_link_on_request_and_the_limits(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        backend=backend,
        env=mail_env(smtp_server),
        clock=FixedClock(NOW),
        verification_resend_per_user=RateRule(2, 3600),
    )
    email = unique_email()
    await register(client, email)
    headers = bearer((await session(client, email))["access_token"])
    first = link_in(await received(smtp_server, email, VERIFY_SUBJECT))[1]

    for _ in range(2):
        resent = await client.post(RESEND, headers=headers)
        assert resent.status_code == 202, resent.text
        assert resent.json() == {"detail": VERIFICATION_SENT}
    limited = await client.post(RESEND, headers=headers)
    assert_problem(limited, 429, "rate-limited")
    newest = link_in(await received(smtp_server, email, VERIFY_SUBJECT, nth=3))[1]
    assert len({first, newest}) == 2

    # Any live link verifies; once verified, asking for another is refused.
    assert (await client.post(VERIFY, json={"token": first})).status_code == 200
    done = await client.post(RESEND, headers=headers)
    assert_problem(done, 422, "email-already-verified")
    anonymous = await client.post(RESEND)
    assert_problem(anonymous, 401, "unauthenticated")
    await asyncio.sleep(0.3)
    assert mails_to(smtp_server, email).count((VERIFY_SUBJECT,)) == 3


async def test_booking_need_not_wait_when_configured(
    make_client: AppFactory, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        env=mail_env(smtp_server, HDUCE_REQUIRE_VERIFIED_EMAIL_TO_BOOK="false"),
        clock=FixedClock(NOW),
    )
    world = await ClinicWorld.open(client)
    email = unique_email()
    await register(client, email)
    headers = bearer((await session(client, email))["access_token"])
    assert (await _me(world, headers))["email_verified"] is False
    booked = await _book(world, headers)
    assert booked.status_code == 201, booked.text


async def test_staff_book_for_an_unverified_patient(
    make_client: AppFactory, smtp_server: SmtpServer
) -> None:
    """The rule is about who books for themself: an admin (who knows the patient) may
    book for an account whose address is not proven yet."""
    client = await make_client(env=mail_env(smtp_server), clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    email = unique_email()
    patient = await register(client, email)
    body = {
        "doctor_id": world.id("doctor"),
        "patient_id": patient["id"],
        "starts_at": iso(WEDNESDAY_10),
    }
    booked = await client.post(APPOINTMENTS, json=body, headers=await world.auth("admin"))
    assert booked.status_code == 201, booked.text
