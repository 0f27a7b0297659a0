"""The walk-in pages over plain HTTP: an admin creates a walk-in patient's account
(``/admin/patients/new``) and mails its link again from the user list; the person opens
the emailed ``/set-password`` link, chooses the first password and signs in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser.account_http import mail_link, mails, signed_in, unique_email, visitor
from tests.browser.conftest import serve_console
from tests.browser.console import ADMIN, PATIENT
from tests.services import SmtpServer

SETUP_SUBJECT = "Set your password"
FIRST_PASSWORD = "my first walk-in passphrase 3"


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    """This module's own console server (sign-ins are rate-limited per address)."""
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


def _walk_in(console_url: str, email: str, **more: str) -> str:
    """A walk-in made by the demo admin on the console; its id, from the user list."""
    admin = signed_in(console_url, ADMIN)
    created = admin.post(
        "/admin/patients/new", {"full_name": "Walk In Person", "email": email} | more
    )
    assert created.status_code == 201, created.text
    assert f"A link to set the password is on its way to {email}" in created.text
    listed = admin.get("/admin/users", params={"search": email})
    found = re.search(r'action="/admin/patients/([0-9a-f-]{36})/password-link"', listed.text)
    assert found is not None, listed.text
    return found.group(1)


def test_the_admin_creates_a_walk_in_and_the_person_sets_the_password_from_the_mail(
    console_url: str, smtp_server: SmtpServer
) -> None:
    admin = signed_in(console_url, ADMIN)
    form = admin.get("/admin/patients/new")
    assert form.status_code == 200
    assert 'name="phone" type="tel"' in form.text
    assert 'href="/admin/patients/new"' in admin.get("/admin/users").text

    email = unique_email("walkin")
    _walk_in(console_url, email, phone="+593991234567")
    # No password yet: nothing signs in with one.
    assert visitor(console_url).sign_in(email, FIRST_PASSWORD).status_code == 401

    path, token = mail_link(smtp_server, email, SETUP_SUBJECT)
    assert path == "/set-password"
    stranger = visitor(console_url)
    # Opening the link (a mail scanner may) uses nothing up: the button does.
    opened = stranger.get(f"{path}?token={token}")
    assert opened.status_code == 200
    assert f'name="token" value="{token}"' in opened.text
    assert "Set my password" in opened.text

    weak = stranger.post(path, {"token": token, "new_password": "password1"})
    assert weak.status_code == 400
    assert 'role="alert"' in weak.text
    assert f'value="{token}"' in weak.text  # a refused password leaves the link usable
    done = stranger.post(path, {"token": token, "new_password": FIRST_PASSWORD})
    assert done.status_code == 303
    assert done.headers["location"] == "/login?done=password_set"
    assert "Your password is set" in stranger.get("/login?done=password_set").text

    again = stranger.post(path, {"token": token, "new_password": "yet another passphrase 9"})
    assert again.status_code == 410
    assert "used already" in again.text
    person = visitor(console_url)
    assert person.sign_in(email, FIRST_PASSWORD).status_code == 303
    # The link proved the address: nothing asks to confirm it.
    assert "is not confirmed yet" not in person.get("/profile").text

    # With a password, the list offers no link any more; asking anyway is refused.
    listed = admin.get("/admin/users", params={"search": email})
    assert "/password-link" not in listed.text


def test_a_refused_walk_in_is_drawn_again_with_the_detail(console_url: str) -> None:
    admin = signed_in(console_url, ADMIN)
    taken = admin.post("/admin/patients/new", {"full_name": "Ana Again", "email": PATIENT})
    assert taken.status_code == 409
    assert "exists already" in taken.text
    assert f'value="{PATIENT}"' in taken.text

    bad_phone = admin.post(
        "/admin/patients/new",
        {"full_name": "Bad Phone", "email": unique_email("phone"), "phone": "12"},
    )
    assert bad_phone.status_code == 400
    assert 'role="alert"' in bad_phone.text
    assert 'value="12"' in bad_phone.text


def test_the_link_is_mailed_again_on_the_admins_asking(
    console_url: str, smtp_server: SmtpServer
) -> None:
    email = unique_email("resend")
    patient_id = _walk_in(console_url, email)
    admin = signed_in(console_url, ADMIN)
    sent = admin.post(f"/admin/patients/{patient_id}/password-link")
    assert sent.status_code == 303
    assert sent.headers["location"] == "/admin/users?done=link_sent"
    assert "A new link to set the password" in admin.get("/admin/users?done=link_sent").text
    first_path, first = mail_link(smtp_server, email, SETUP_SUBJECT)
    _, second = mail_link(smtp_server, email, SETUP_SUBJECT, nth=2)
    assert first != second
    # Either works until one is used; then the other is gone too.
    assert (
        visitor(console_url)
        .post(first_path, {"token": second, "new_password": FIRST_PASSWORD})
        .status_code
        == 303
    )
    assert (
        visitor(console_url)
        .post(first_path, {"token": first, "new_password": FIRST_PASSWORD})
        .status_code
        == 410
    )
    refused = admin.post(f"/admin/patients/{patient_id}/password-link")
    assert refused.status_code == 422
    assert "has a password already" in refused.text
    assert len(mails(smtp_server, email, SETUP_SUBJECT)) == 2


def test_only_admins_create_walk_ins_and_a_bare_link_says_so(console_url: str) -> None:
    patient = signed_in(console_url, PATIENT)
    assert patient.get("/admin/patients/new").status_code == 403
    refused = patient.post(
        "/admin/patients/new", {"full_name": "Sneaky", "email": unique_email("sneaky")}
    )
    assert refused.status_code == 403
    signed_out = visitor(console_url).get("/admin/patients/new")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")
    assert "incomplete" in visitor(console_url).get("/set-password").text
    bogus = visitor(console_url).post(
        "/set-password", {"token": "x" * 43, "new_password": "a b c d e f g h"}
    )
    assert bogus.status_code in (400, 404, 410)
    assert 'role="alert"' in bogus.text
