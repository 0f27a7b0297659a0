"""The walk-in pages in a real browser: the admin creates a walk-in patient at the
desk, the person opens the emailed "set your password" link on a phone, chooses the
password and signs in; the same link page in Spanish."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.account_http import mail_link, signed_in, unique_email
from tests.browser.conftest import serve_console
from tests.browser.console import ADMIN, Console, Person
from tests.services import SmtpServer

SETUP_SUBJECT = "Set your password"


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    """This module's own console server (sign-ins are rate-limited per address)."""
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


def _fits(person: Person) -> bool:
    return bool(
        person.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def test_a_walk_in_made_at_the_desk_sets_the_password_from_the_mail_and_signs_in(
    console: Console, console_url: str, smtp_server: SmtpServer
) -> None:
    email = unique_email("desk")
    admin = console.person("admin", phone=True)
    admin.sign_in(ADMIN)
    admin.go("/admin/users")
    admin.page.locator("main").get_by_role("link", name="New walk-in patient").first.click()
    expect(admin.page.get_by_role("heading", name="New walk-in patient")).to_be_visible()
    admin.check("walk-in-form")
    assert _fits(admin), "the walk-in form scrolls the page sideways on a phone"
    admin.page.get_by_label("Full name").fill("Rosa Desk")
    admin.page.get_by_label("Email").fill(email)
    admin.page.get_by_label("Mobile phone (optional)").fill("+593991234568")
    admin.page.get_by_role("button", name="Create and email the link").click()
    expect(admin.page.get_by_role("status")).to_contain_text(f"on its way to {email}")
    admin.check("walk-in-created")

    path, token = mail_link(smtp_server, email, SETUP_SUBJECT)
    person = console.person("walk-in", phone=True)
    person.go(f"{path}?token={token}")
    expect(person.page.get_by_role("heading", name="Set your password")).to_be_visible()
    person.check("set-password")
    assert _fits(person)
    person.page.locator("#new_password").fill("rosa's own passphrase 4")
    person.page.get_by_role("button", name="Set my password").click()
    expect(person.page.get_by_role("status")).to_contain_text("Your password is set")
    person.check("password-set")
    person.sign_in(email, "rosa's own passphrase 4")
    expect(person.page.get_by_role("heading", name="My appointments")).to_be_visible()


def test_the_set_password_page_in_spanish(
    console: Console, console_url: str, smtp_server: SmtpServer
) -> None:
    email = unique_email("presencial")
    admin = signed_in(console_url, ADMIN)
    created = admin.post("/admin/patients/new", {"full_name": "Luis Presencial", "email": email})
    assert created.status_code == 201
    path, token = mail_link(smtp_server, email, SETUP_SUBJECT)
    person = console.person("set-es", locale="es-EC", phone=True)
    person.go(f"{path}?token={token}")
    expect(person.page.get_by_role("heading", name="Elija su contraseña")).to_be_visible()
    person.check("set-password-es")
    person.page.locator("#new_password").fill("la clave de luis 2026")
    person.page.get_by_role("button", name="Guardar mi contraseña").click()
    expect(person.page.get_by_role("status")).to_contain_text("Su contraseña quedó guardada")
    person.check("password-set-es")
    assert _fits(person)
