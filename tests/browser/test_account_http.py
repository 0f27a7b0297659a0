"""The account pages over plain HTTP: refused forms answered in words at the API's
status (``forms.submit_form``), password reset and email verification links, sessions,
password change, notification preferences and two-factor sign-in."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from hduce.domain.notifications import OPTIONAL_KINDS, Channel
from tests.browser.account_http import (
    ACCESS,
    NEW_PASSWORD,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    feed_audit_lines,
    mail_link,
    new_doctor,
    register,
    signed_in,
    unique_email,
    visitor,
)
from tests.browser.conftest import JWT_SECRET, serve_console
from tests.browser.console import ADMIN, DEMO_PASSWORD, OTHER_PATIENT, PATIENT
from tests.e2e.server import clean_environment, run_command, running_server
from tests.services import SmtpServer


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    """This module's own console server: its many sign-ins and registrations from
    127.0.0.1 count against rate limits of its own, not the other modules' server's."""
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


def test_a_refused_form_is_drawn_again_with_the_detail_and_the_status(console_url: str) -> None:
    patient = signed_in(console_url, PATIENT)
    refused = patient.post(
        "/profile", {"full_name": "Ana García", "timezone": "Mars/Olympus_Mons", "email": "on"}
    )
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert 'id="timezone" name="timezone" autocomplete="off" value="Mars/Olympus_Mons"' in (
        refused.text
    )
    assert 'aria-invalid="true"' in refused.text

    admin = signed_in(console_url, ADMIN)
    # Refused while building the command (no specialty chosen): the form again, its list.
    no_specialty = admin.post(
        "/admin/doctors/new",
        {"email": "x@example.org", "full_name": "Dr X", "specialty_id": "", "password": "pw"},
    )
    assert no_specialty.status_code == 400
    assert "choose a specialty" in no_specialty.text
    assert "<option" in no_specialty.text  # the specialties, queried only on refusal
    assert 'value="pw"' not in no_specialty.text

    bad_day = admin.get("/admin/audit", params={"from": "yesterday"})
    assert bad_day.status_code == 400
    assert "from must be a date" in bad_day.text


def test_a_forgotten_password_is_reset_from_the_emailed_link_once(
    console_url: str, smtp_server: SmtpServer
) -> None:
    email = unique_email("reset")
    register(console_url, email)
    stranger = visitor(console_url)

    page = stranger.get("/forgot-password")
    assert page.status_code == 200
    assert 'autocomplete="username"' in page.text
    asked = stranger.post("/forgot-password", {"email": email})
    unknown = stranger.post("/forgot-password", {"email": unique_email("nobody")})
    # The same words whether or not the address has an account.
    assert asked.status_code == unknown.status_code == 200
    assert "If an account has this address" in asked.text
    assert "If an account has this address" in unknown.text

    path, token = mail_link(smtp_server, email, RESET_SUBJECT)
    assert path == "/reset-password"
    form = stranger.get(f"{path}?token={token}")
    assert form.status_code == 200
    assert f'name="token" value="{token}"' in form.text

    weak = stranger.post(path, {"token": token, "new_password": "password1"})
    assert weak.status_code == 400
    assert 'role="alert"' in weak.text
    assert f'value="{token}"' in weak.text  # a refused password leaves the link usable
    done = stranger.post(path, {"token": token, "new_password": "another fine passphrase 8"})
    assert done.status_code == 303
    assert done.headers["location"] == "/login?done=reset"
    assert "every session signed out" in stranger.get("/login?done=reset").text

    again = stranger.post(path, {"token": token, "new_password": "yet another passphrase 9"})
    assert again.status_code == 410
    assert "used already" in again.text
    assert visitor(console_url).sign_in(email, NEW_PASSWORD).status_code == 401
    assert visitor(console_url).sign_in(email, "another fine passphrase 8").status_code == 303

    assert "incomplete" in stranger.get("/reset-password").text


def test_the_emailed_verification_link_confirms_the_address_by_a_button(
    console_url: str, smtp_server: SmtpServer
) -> None:
    email = unique_email("verify")
    person = register(console_url, email)
    assert "is not confirmed yet" in person.get("/profile").text

    path, token = mail_link(smtp_server, email, VERIFY_SUBJECT)
    assert path == "/verify-email"
    # Opening the link (a mail scanner may) uses nothing up: the button does.
    opened = visitor(console_url).get(f"{path}?token={token}")
    assert opened.status_code == 200
    assert "Confirm my address" in opened.text
    confirmed = visitor(console_url).post(path, {"token": token})
    assert confirmed.status_code == 200
    assert f"{email} is confirmed" in confirmed.text
    assert "is not confirmed yet" not in person.get("/profile").text
    used = visitor(console_url).post(path, {"token": token})
    assert used.status_code == 410


def test_a_new_verification_link_on_asking(console_url: str, smtp_server: SmtpServer) -> None:
    email = unique_email("resend")
    person = register(console_url, email)
    sent = person.post("/verify-email/resend")
    assert sent.status_code == 303
    assert sent.headers["location"] == "/profile?done=verification_sent"
    mail_link(smtp_server, email, VERIFY_SUBJECT, nth=2)


def test_sessions_are_listed_and_the_others_signed_out(console_url: str) -> None:
    email = unique_email("sessions")
    phone = register(console_url, email)
    laptop = visitor(console_url)
    assert laptop.sign_in(email, NEW_PASSWORD).status_code == 303
    tablet = visitor(console_url)
    assert tablet.sign_in(email, NEW_PASSWORD).status_code == 303

    listed = laptop.get("/profile/sessions")
    assert listed.status_code == 200
    assert listed.text.count("data-session=") == 3
    assert listed.text.count("This device") >= 1
    tablet_session = re.findall(
        r'data-session="([0-9a-f-]{36})"', tablet.get("/profile/sessions").text
    )[0]
    ended = laptop.post(f"/profile/sessions/{tablet_session}/revoke")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/profile/sessions?done=revoked"
    assert tablet.get("/profile/sessions").status_code == 303  # signed out: to sign in

    others = laptop.post("/profile/sessions/revoke-others")
    assert others.headers["location"] == "/profile/sessions?done=others_revoked"
    assert phone.get("/profile").status_code == 303
    after = laptop.get("/profile/sessions?done=others_revoked")
    assert after.text.count("data-session=") == 1
    assert "Every other device was signed out." in after.text
    gone = laptop.post(f"/profile/sessions/{tablet_session}/revoke")
    assert gone.status_code == 404


def test_the_password_is_changed_with_the_current_one(console_url: str) -> None:
    email = unique_email("password")
    here = register(console_url, email)
    elsewhere = visitor(console_url)
    assert elsewhere.sign_in(email, NEW_PASSWORD).status_code == 303

    wrong = here.post(
        "/profile/password", {"current_password": "not it", "new_password": "a third passphrase 10"}
    )
    assert wrong.status_code == 400
    assert "the current password is not right" in wrong.text
    assert 'id="current_password" name="current_password"' in wrong.text
    changed = here.post(
        "/profile/password",
        {"current_password": NEW_PASSWORD, "new_password": "a third passphrase 10"},
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/profile/password?done=changed"
    assert here.get("/profile/password").status_code == 200  # this session stays
    assert elsewhere.get("/profile").status_code == 303  # the other one ended
    assert visitor(console_url).sign_in(email, "a third passphrase 10").status_code == 303


def test_notification_choices_per_kind_and_channel(console_url: str) -> None:
    person = register(console_url, unique_email("prefs"))
    page = person.get("/profile/notifications")
    assert page.status_code == 200
    assert 'name="appointment.approved:email" value="on" ' in page.text
    # Every kind that can be turned off, on every channel: all on.
    assert page.text.count(" checked>") == len(OPTIONAL_KINDS) * len(Channel)
    ticked = {
        f"{kind}:{channel}": "on"
        for kind in ("appointment.approved", "reminder.due")
        for channel in ("in_app", "email", "sms")
    }
    del ticked["reminder.due:sms"]
    saved = person.post("/profile/notifications", ticked)
    assert saved.status_code == 303
    again = person.get("/profile/notifications?done=saved")
    assert again.text.count(" checked>") == 5
    assert 'name="reminder.due:sms" value="on" aria-label="Reminder: SMS">' in again.text
    # The JSON API reads the same switches.
    api = person.get("/api/v1/notifications/preferences")
    assert api.status_code == 200, api.text
    kinds = api.json()["kinds"]
    assert kinds["reminder.due"] == {"in_app": True, "email": True, "sms": False}
    assert kinds["appointment.cancelled"]["in_app"] is False


def test_staff_enrol_two_step_sign_in_and_sign_in_with_a_code(console_url: str) -> None:
    email = unique_email("doctor")
    new_doctor(console_url, email)
    doctor = visitor(console_url)
    assert doctor.sign_in(email, NEW_PASSWORD).status_code == 303
    assert "Two-step sign-in is off" in doctor.get("/profile/2fa").text

    started = doctor.post("/profile/2fa/enrol")
    assert started.headers["location"] == "/profile/2fa/confirm"
    confirm = doctor.get("/profile/2fa/confirm")
    assert 'src="data:image/svg+xml' in confirm.text
    secret_match = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', confirm.text)
    assert secret_match is not None
    totp = pyotp.TOTP(secret_match.group(1))
    wrong = doctor.post(
        "/profile/2fa/confirm", {"code": "000000" if totp.now() != "000000" else "111111"}
    )
    assert wrong.status_code == 400
    assert 'src="data:image/svg+xml' in wrong.text  # the QR code again, beside the detail
    codes_page = doctor.post("/profile/2fa/confirm", {"code": totp.now()})
    assert codes_page.status_code == 200
    codes = re.findall(r"<li><code>([^<]+)</code></li>", codes_page.text)
    assert len(codes) == 10
    assert "Recovery codes left: 10" in doctor.get("/profile/2fa").text

    # Signing in now asks for the code.
    later = visitor(console_url)
    step = later.sign_in(email, NEW_PASSWORD)
    assert step.status_code == 200
    assert "Enter your sign-in code" in step.text
    assert ACCESS not in later.cookies
    challenge = re.search(r'name="challenge" value="([^"]+)"', step.text)
    assert challenge is not None
    bad = later.post(
        "/login/second-factor", {"challenge": challenge.group(1), "code": "12345", "next": "/"}
    )
    assert bad.status_code == 401
    assert 'role="alert"' in bad.text
    # The next time step's code (the one used to confirm is spent), accepted a step early.
    passed = later.post(
        "/login/second-factor",
        {"challenge": challenge.group(1), "code": totp.at(time.time() + 30), "next": "/profile"},
    )
    assert passed.status_code == 303, passed.text
    assert passed.headers["location"] == "/profile"
    assert ACCESS in later.cookies

    # A recovery code turns it off.
    off = later.post("/profile/2fa/remove", {"recovery_code": codes[0]})
    assert off.headers["location"] == "/profile/2fa?done=removed"
    assert "Two-step sign-in is off" in later.get("/profile/2fa").text
    assert visitor(console_url).sign_in(email, NEW_PASSWORD).status_code == 303
    # Patients have no second factor to set up.
    patient = signed_in(console_url, PATIENT)
    assert patient.get("/profile/2fa").status_code == 403


def test_a_calendar_subscription_is_created_read_and_revoked(console_url: str) -> None:
    patient = signed_in(console_url, PATIENT)
    assert "/appointments/calendar" in patient.get("/appointments").text
    created = patient.post("/appointments/calendar", {"label": "Browserless phone"})
    assert created.status_code == 201
    https = re.search(r'id="feed-https" readonly value="([^"]+)"', created.text)
    webcal = re.search(r'id="feed-webcal" readonly value="([^"]+)"', created.text)
    assert https is not None
    assert webcal is not None
    assert https.group(1).startswith(console_url + "/calendar/")
    assert webcal.group(1) == "webcal://" + https.group(1).split("://", 1)[1]
    feed = httpx.get(https.group(1))
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in feed.text

    listed = patient.get("/appointments/calendar")
    assert https.group(1) not in listed.text  # the secret is shown once only
    feed_id = re.search(
        r'data-feed="([0-9a-f-]{36})">\s*<h3 class="h3">Browserless phone', listed.text
    )
    assert feed_id is not None
    revoked = patient.post(f"/appointments/calendar/{feed_id.group(1)}/revoke")
    assert revoked.headers["location"] == "/appointments/calendar?done=revoked"
    assert httpx.get(https.group(1)).status_code == 404

    long_label = patient.post("/appointments/calendar", {"label": "x" * 150})
    assert long_label.status_code == 400
    assert 'id="label" name="label"' in long_label.text

    admin = signed_in(console_url, ADMIN)
    assert admin.get("/appointments/calendar").status_code == 403


def test_a_read_notification_is_marked_unread_again(console_url: str) -> None:
    patient = signed_in(console_url, OTHER_PATIENT)
    assert patient.post("/notifications/read-all").status_code == 303
    page = patient.get("/notifications")
    ids = re.findall(r'data-notification="([0-9a-f-]{36})"', page.text)
    assert ids, "the demo patient has notifications"
    assert "Mark unread" in page.text
    marked = patient.post(f"/notifications/{ids[0]}/unread")
    assert marked.status_code == 303
    after = patient.get("/notifications")
    assert f'class="card unread" data-notification="{ids[0]}"' in after.text
    assert after.text.count('class="card unread"') == 1
    stranger = signed_in(console_url, PATIENT)
    assert stranger.post(f"/notifications/{ids[0]}/unread").status_code == 404


def test_the_audit_log_pages_keep_the_filter(console_url: str) -> None:
    feed_audit_lines(console_url, 52)
    admin = signed_in(console_url, ADMIN)
    first = admin.get("/admin/audit", params={"action": "calendar_feed.created"})
    total = int(re.search(r"(\d+)\s+entr", first.text).group(1))  # type: ignore[union-attr]
    assert total >= 52
    assert first.text.count("<time datetime=") == 50
    assert 'href="/admin/audit?action=calendar_feed.created&amp;page=2" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    second = admin.get("/admin/audit", params={"action": "calendar_feed.created", "page": "2"})
    assert second.status_code == 200
    assert 'href="/admin/audit?action=calendar_feed.created" rel="prev"' in second.text
    assert second.text.count("<time datetime=") == min(50, total - 50)
    assert "calendar_feed.revoked" not in second.text


def test_the_admin_edits_a_doctor_and_renames_a_specialty(console_url: str) -> None:
    email = unique_email("edited")
    new_doctor(console_url, email)
    admin = signed_in(console_url, ADMIN)
    users = admin.get("/admin/users", params={"search": email})
    doctor_id = re.search(r'href="/admin/doctors/([0-9a-f-]{36})/edit"', users.text)
    assert doctor_id is not None
    page_url = f"/admin/doctors/{doctor_id.group(1)}/edit"
    page = admin.get(page_url)
    assert page.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', page.text)
    specialties = re.findall(r'<option value="([0-9a-f-]{36})"', page.text)
    assert version is not None
    assert len(specialties) >= 2
    form = {
        "version": version.group(1),
        "specialty_id": specialties[-1],
        "licence_number": "EDIT-1",
        "visit_minutes": "45",
        "consultation_fee": "42.50",
        "timezone": "America/Guayaquil",
        "bio": "Edited by the admin",
    }
    saved = admin.post(page_url, form)
    assert saved.status_code == 303
    assert saved.headers["location"] == page_url + "?done=saved"
    api = admin.get(f"/api/v1/doctors/{doctor_id.group(1)}").json()
    assert (api["visit_minutes"], api["licence_number"], api["bio"]) == (
        45,
        "EDIT-1",
        "Edited by the admin",
    )
    assert api["specialty"]["id"] == specialties[-1]
    # The same form again (its version is now old): refused, nothing overwritten.
    stale = admin.post(page_url, form | {"bio": "an old form"})
    assert stale.status_code in (409, 412)
    assert 'role="alert"' in stale.text
    assert "an old form" in stale.text  # what the admin typed is kept on the form
    bad = admin.post(page_url, form | {"version": "", "visit_minutes": "3"})
    assert bad.status_code == 400
    assert 'id="visit_minutes" name="visit_minutes"' in bad.text

    off = admin.post(f"{page_url.removesuffix('/edit')}/active", {"active": "false"})
    assert off.headers["location"] == page_url + "?done=deactivated"
    assert visitor(console_url).sign_in(email, NEW_PASSWORD).status_code == 401
    admin.post(f"{page_url.removesuffix('/edit')}/active", {"active": "true"})
    assert visitor(console_url).sign_in(email, NEW_PASSWORD).status_code == 303

    tag = uuid.uuid4().hex[:6]
    assert admin.post("/admin/specialties", {"name": f"Geriatrics {tag}"}).status_code == 303
    listed = admin.get("/admin/specialties")
    specialty = re.search(
        rf'data-specialty="([0-9a-f-]{{36}})"><h2 class="h3">Geriatrics {tag}</h2>', listed.text
    )
    assert specialty is not None
    renamed = admin.post(
        f"/admin/specialties/{specialty.group(1)}",
        {"name": f"Elderly care {tag}", "description": "Renamed"},
    )
    assert renamed.headers["location"] == "/admin/specialties?done=renamed"
    assert f"Elderly care {tag}" in admin.get("/admin/specialties").text
    empty = admin.post(f"/admin/specialties/{specialty.group(1)}", {"name": " "})
    assert empty.status_code == 400
    assert "<details open>" in empty.text
    patient = signed_in(console_url, PATIENT)
    assert patient.get(page_url).status_code == 403


def test_with_admin_two_step_required_the_admin_enrols_before_any_admin_page(
    tmp_path: Path,
) -> None:
    """``HDUCE_REQUIRE_ADMIN_2FA`` holds on the console as on the API: an admin session
    that did not pass a second factor is sent to set one up, and may use only that."""
    env = clean_environment(HDUCE_JWT_SECRET=JWT_SECRET, HDUCE_REQUIRE_ADMIN_2FA="true")
    run_command(["seed-demo", "--password", DEMO_PASSWORD], env, tmp_path)
    with running_server(tmp_path, env) as base_url:
        admin = visitor(base_url)
        assert admin.sign_in(ADMIN).status_code == 303
        refused = admin.get("/admin/users")
        assert refused.status_code == 303
        assert refused.headers["location"] == "/profile/2fa?done=required"
        assert admin.get("/api/v1/admin/users").status_code == 403  # the API agrees
        page = admin.get("/profile/2fa?done=required")
        assert page.status_code == 200
        assert "Admins must sign in with two steps here" in page.text
        assert admin.post("/profile/2fa/enrol").status_code == 303
        confirm = admin.get("/profile/2fa/confirm")
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', confirm.text)
        assert secret is not None
        done = admin.post("/profile/2fa/confirm", {"code": pyotp.TOTP(secret.group(1)).now()})
        assert done.status_code == 200
        # The session that confirmed counts as a two-step one.
        assert admin.get("/admin/users").status_code == 200
        # A patient is not concerned.
        patient = visitor(base_url)
        assert patient.sign_in(PATIENT).status_code == 303
        assert patient.get("/appointments").status_code == 200
