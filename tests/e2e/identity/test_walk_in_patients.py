"""Walk-in patients (issue 14), over HTTP, with the mail as the SMTP server got it: an
admin makes a patient's account at the desk without a password; the patient opens the
emailed "set your password" link, sets one (which also proves the address) and signs
in. Taken addresses are 409; the admin may send the link again."""

from __future__ import annotations

import asyncio

from hduce.application.identity.policy import RateRule
from hduce.entrypoints.http.auth.link_schemas import PASSWORD_SET
from hduce.entrypoints.http.clinic.walk_ins import LINK_SENT
from tests.e2e.harness import (
    API,
    NOW,
    WEDNESDAY_10,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
    bearer,
    iso,
    login,
)
from tests.e2e.identity.links import (
    PUBLIC_URL,
    link_in,
    mail_env,
    mails_to,
    received,
    unique_email,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer

SETUP_SUBJECT = "Set your password"
PATIENTS = f"{API}/patients"
SETUP = f"{API}/auth/password-setup"
NEW_PASSWORD = "a brand new passphrase 7"


async def test_a_walk_in_sets_the_password_by_the_emailed_link_and_signs_in(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(backend=backend, env=mail_env(smtp_server), clock=clock)
    world = await ClinicWorld.open(client)
    admin = await world.auth("admin")
    email = unique_email("walkin")

    created = await client.post(
        PATIENTS,
        json={
            "email": email.upper(),
            "full_name": "Walk In",
            "phone": "+34 600 111 222",
            "date_of_birth": "1970-03-02",
            "sex": "female",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    patient_id = body["id"]
    assert created.headers["location"] == f"/api/v1/patients/{patient_id}"
    assert {k: body[k] for k in ("email", "phone", "date_of_birth", "sex")} == {
        "email": email,
        "phone": "+34600111222",
        "date_of_birth": "1970-03-02",
        "sex": "female",
    }
    assert body["has_password"] is False and body["email_verified"] is False
    record = await client.get(f"{PATIENTS}/{patient_id}", headers=admin)
    assert record.status_code == 200 and record.json()["full_name"] == "Walk In"

    # No password: nothing signs in with one until it is set.
    for guess in ("", NEW_PASSWORD):
        refused = await client.post(f"{API}/auth/login", json={"email": email, "password": guess})
        assert refused.status_code in (400, 401), refused.text

    # Staff may book for the patient meanwhile (the clinic knows the person).
    booked = await client.post(
        f"{API}/appointments",
        json={
            "doctor_id": world.id("doctor"),
            "patient_id": patient_id,
            "starts_at": iso(WEDNESDAY_10),
        },
        headers=admin,
    )
    assert booked.status_code == 201, booked.text

    mail = await received(smtp_server, email, SETUP_SUBJECT)
    page, token = link_in(mail)
    assert page == f"{PUBLIC_URL}/set-password"
    assert "7 days" in mail.text()
    assert "created an account for you" in mail.text()

    # The link over HTTP, as the web app posts it: a refused password keeps it usable.
    weak = await client.post(SETUP, json={"token": token, "new_password": "password1"})
    assert assert_problem(weak, 400, "invalid-input")["errors"][0]["field"] == "password"
    done = await client.post(SETUP, json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json() == {"detail": PASSWORD_SET}
    assert done.headers["cache-control"] == "no-store"
    again = await client.post(SETUP, json={"token": token, "new_password": NEW_PASSWORD + "!"})
    assert_problem(again, 410, "token-used")

    tokens = await login(client, email, NEW_PASSWORD)
    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email_verified"] is True and me.json()["role"] == "patient"
    # Its own appointment, booked at the desk, is there.
    mine = await client.get(f"{API}/appointments", headers=bearer(tokens["access_token"]))
    assert [a["id"] for a in mine.json()["items"]] == [booked.json()["id"]]

    # With a password set, the admin's resend is refused (the owner resets it instead).
    resend = await client.post(f"{PATIENTS}/{patient_id}/password-link", headers=admin)
    assert_problem(resend, 422, "password-already-set")


async def test_a_taken_address_is_409_and_the_admin_resends_the_link(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(NOW)
    client = await make_client(
        backend=backend,
        env=mail_env(smtp_server),
        clock=clock,
        password_setup_resend_per_user=RateRule(1, 3600),
    )
    world = await ClinicWorld.open(client)
    admin = await world.auth("admin")
    email = unique_email("walkin")
    created = await client.post(PATIENTS, json={"email": email, "full_name": "Desk"}, headers=admin)
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]

    for taken in (email, world.people["patient"].email):
        duplicate = await client.post(
            PATIENTS, json={"email": taken, "full_name": "Twin"}, headers=admin
        )
        problem = assert_problem(duplicate, 409, "already-exists")
        assert duplicate.headers["content-type"].startswith("application/problem+json")
        assert "exists already" in problem["detail"]

    first = link_in(await received(smtp_server, email, SETUP_SUBJECT))[1]
    # The first link expires after 7 days; the admin sends a new one, which works.
    clock.advance(days=7)
    expired = await client.post(SETUP, json={"token": first, "new_password": NEW_PASSWORD})
    assert_problem(expired, 410, "token-expired")
    admin = await world.auth("admin")
    resent = await client.post(f"{PATIENTS}/{patient_id}/password-link", headers=admin)
    assert resent.status_code == 202, resent.text
    assert resent.json() == {"detail": LINK_SENT}
    limited = await client.post(f"{PATIENTS}/{patient_id}/password-link", headers=admin)
    assert_problem(limited, 429, "rate-limited")
    fresh = link_in(await received(smtp_server, email, SETUP_SUBJECT, nth=2))[1]
    assert fresh != first
    done = await client.post(SETUP, json={"token": fresh, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    await login(client, email, NEW_PASSWORD)

    # A setup token opens nothing else, and other links do not set a first password.
    wrong_kind = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": fresh, "new_password": NEW_PASSWORD}
    )
    assert_problem(wrong_kind, 400, "invalid-token")
    # Resending for someone who is no patient, or not there: 404.
    for other in (world.id("doctor"), "01890000-0000-7000-8000-000000000000"):
        missing = await client.post(f"{PATIENTS}/{other}/password-link", headers=admin)
        assert_problem(missing, 404, "not-found")
    await asyncio.sleep(0.3)
    assert mails_to(smtp_server, email).count((SETUP_SUBJECT,)) == 2
