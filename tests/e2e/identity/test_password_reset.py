"""Password reset by emailed link, over HTTP, with the mail as the SMTP server got it
(issue 15): single use, short lifetime, the same answer for any address, rate-limited,
and every session of the account ends."""

from __future__ import annotations

import asyncio

from hduce.application.identity.policy import RateRule
from hduce.entrypoints.http.auth.link_schemas import PASSWORD_RESET_DONE, RESET_REQUESTED
from tests.e2e.harness import (
    API,
    NOW,
    PASSWORD,
    AppFactory,
    Backend,
    assert_problem,
    bearer,
    login,
    register,
)
from tests.e2e.identity.links import (
    CHANGED_SUBJECT,
    PUBLIC_URL,
    RESET_SUBJECT,
    deliver_emails,
    link_in,
    mail_env,
    mails_to,
    received,
    unique_email,
    without_request_id,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer

NEW_PASSWORD = "a brand new passphrase 7"
RESET = f"{API}/auth/password-reset"
CONFIRM = f"{API}/auth/password-reset/confirm"


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(backend=backend, env=mail_env(smtp_server), clock=clock)
    email = unique_email()
    await register(client, email)
    old = await login(client, email)
    client.cookies.clear()
    # Security mail goes out even to someone who turned notification emails off.
    opted_out = await client.patch(
        f"{API}/auth/me", json={"email_opt_out": True}, headers=bearer(old["access_token"])
    )
    assert opted_out.status_code == 200, opted_out.text

    asked = await client.post(RESET, json={"email": email.upper()})
    assert asked.status_code == 202, asked.text
    assert asked.json() == {"detail": RESET_REQUESTED}
    assert asked.headers["cache-control"] == "no-store"
    mail = await received(smtp_server, email, RESET_SUBJECT)
    page, token = link_in(mail)
    assert page == f"{PUBLIC_URL}/reset-password"
    assert "30 minutes" in mail.text()

    # A password the rules refuse leaves the link usable.
    weak = await client.post(CONFIRM, json={"token": token, "new_password": "password1"})
    assert assert_problem(weak, 400, "invalid-input")["errors"][0]["field"] == "password"
    done = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json() == {"detail": PASSWORD_RESET_DONE}

    # The link works once.
    again = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD + "!"})
    problem = assert_problem(again, 410, "token-used")
    assert "used already" in problem["detail"]

    # Every session of the account ended: its refresh token and its access token.
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert_problem(refreshed, 401, "unauthenticated")
    me = await client.get(f"{API}/auth/me", headers=bearer(old["access_token"]))
    assert_problem(me, 401, "unauthenticated")

    # The old password is refused; the new one signs in (tokens from the next second on).
    clock.advance(seconds=1)
    refused = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert_problem(refused, 401, "unauthenticated")
    fresh = await login(client, email, NEW_PASSWORD)
    me = await client.get(f"{API}/auth/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 200 and me.json()["email_verified"]  # the link proved it

    # The owner is told, by the account notice the worker delivers.
    assert await deliver_emails(client) >= 1
    changed = await received(smtp_server, email, CHANGED_SUBJECT)
    assert "signed out" in changed.text()


async def test_an_expired_link_is_gone_and_a_new_one_works(
    make_client: AppFactory, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(env=mail_env(smtp_server), clock=clock)
    email = unique_email()
    await register(client, email)
    assert (await client.post(RESET, json={"email": email})).status_code == 202
    _, stale = link_in(await received(smtp_server, email, RESET_SUBJECT))

    clock.advance(minutes=30)
    expired = await client.post(CONFIRM, json={"token": stale, "new_password": NEW_PASSWORD})
    assert "expired" in assert_problem(expired, 410, "token-expired")["detail"]

    assert (await client.post(RESET, json={"email": email})).status_code == 202
    _, fresh = link_in(await received(smtp_server, email, RESET_SUBJECT, nth=2))
    done = await client.post(CONFIRM, json={"token": fresh, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text


async def test_other_reset_links_die_with_the_reset_and_made_up_tokens_are_refused(
    make_client: AppFactory, smtp_server: SmtpServer
) -> None:
    client = await make_client(env=mail_env(smtp_server))
    email = unique_email()
    await register(client, email)
    for _ in range(2):
        assert (await client.post(RESET, json={"email": email})).status_code == 202
    first = link_in(await received(smtp_server, email, RESET_SUBJECT, nth=1))[1]
    second = link_in(await received(smtp_server, email, RESET_SUBJECT, nth=2))[1]
    assert first != second
    done = await client.post(CONFIRM, json={"token": second, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    older = await client.post(CONFIRM, json={"token": first, "new_password": NEW_PASSWORD})
    assert_problem(older, 410, "token-used")

    made_up = await client.post(CONFIRM, json={"token": "x" * 43, "new_password": NEW_PASSWORD})
    assert_problem(made_up, 400, "invalid-token")
    extra = await client.post(CONFIRM, json={"token": second, "new_password": "x", "more": 1})
    assert_problem(extra, 400, "invalid-request")


async def test_an_unknown_address_gets_the_same_answer_and_no_email(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(backend=backend, env=mail_env(smtp_server))
    known, unknown, malformed = unique_email("known"), unique_email("nobody"), "not-an-address"
    await register(client, known)

    answers = [await client.post(RESET, json={"email": email}) for email in (known, unknown)]
    answers.append(await client.post(RESET, json={"email": malformed}))
    assert all(response.status_code == 202 for response in answers)
    assert len({repr(without_request_id(response)) for response in answers}) == 1

    await received(smtp_server, known, RESET_SUBJECT)
    await asyncio.sleep(0.5)  # time for a (wrong) second mail to arrive too
    assert mails_to(smtp_server, unknown) == []
    assert not [m for m in smtp_server.messages if malformed in m.rcpt_tos]


async def test_requests_are_limited_per_address_and_per_client(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        backend=backend,
        env=mail_env(smtp_server),
        password_reset_per_account=RateRule(3, 3600),
        password_reset_per_ip=RateRule(8, 3600),
    )
    known, unknown = unique_email("known"), unique_email("nobody")
    await register(client, known)
    for email in (known, unknown):  # limited alike: a 429 tells nothing about the address
        statuses = [(await client.post(RESET, json={"email": email})).status_code for _ in range(3)]
        assert statuses == [202, 202, 202]
        limited = await client.post(RESET, json={"email": email})
        problem = assert_problem(limited, 429, "rate-limited")
        assert int(limited.headers["retry-after"]) == problem["retry_after_seconds"] > 0
    # Every request counted for this client, refused ones too (8): the next is refused,
    # whatever the address.
    other = await client.post(RESET, json={"email": unique_email()})
    assert_problem(other, 429, "rate-limited")
    # Three links reached the known address: the refused request sent none.
    await received(smtp_server, known, RESET_SUBJECT, nth=3)
    await asyncio.sleep(0.3)
    assert mails_to(smtp_server, known).count((RESET_SUBJECT,)) == 3
