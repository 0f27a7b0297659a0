"""The account pages in a real browser: a forgotten password reset from the emailed
link, the address confirmed, the profile's security pages, and two-step sign-in for
staff with codes from pyotp."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.account_http import (
    NEW_PASSWORD,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    mail_link,
    new_doctor,
    register,
    unique_email,
)
from tests.browser.conftest import serve_console
from tests.browser.console import PATIENT, Console, Person
from tests.services import SmtpServer


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    """This module's own console server: its many sign-ins and registrations from
    127.0.0.1 count against rate limits of its own, not the other modules' server's."""
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


def _fits(person: Person) -> bool:
    return bool(
        person.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def test_a_forgotten_password_is_reset_from_the_mail_and_the_person_signs_in(
    console: Console, console_url: str, smtp_server: SmtpServer
) -> None:
    email = unique_email("forgot")
    register(console_url, email)
    person = console.person("forgot")
    person.go("/login")
    person.page.get_by_role("link", name="Forgot your password?").click()
    expect(person.page.get_by_role("heading", name="Forgot your password")).to_be_visible()
    person.check("forgot")
    person.page.locator("#email").fill(email)
    person.page.get_by_role("button", name="Email me a link").click()
    expect(person.page.get_by_role("status")).to_contain_text("a link to reset its password")

    path, token = mail_link(smtp_server, email, RESET_SUBJECT)
    person.go(f"{path}?token={token}")
    expect(person.page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    person.check("reset")
    person.page.locator("#new_password").fill("short")
    person.page.locator("#new_password").evaluate("e => e.removeAttribute('minlength')")
    person.page.get_by_role("button", name="Set the new password").click()
    expect(person.page.get_by_role("alert")).to_be_visible()
    person.check("reset-refused")
    person.page.locator("#new_password").fill("my new browser passphrase 5")
    person.page.get_by_role("button", name="Set the new password").click()
    expect(person.page.get_by_role("status")).to_contain_text("Your password was changed")
    person.check("reset-done")

    # At once: the reset bars tokens until the next whole second, and a sign-in in that
    # second gets a token stamped with the bar (``User.token_issue_time``).
    person.sign_in(email, "my new browser passphrase 5")
    expect(person.page.get_by_role("heading", name="My appointments")).to_be_visible()


def test_the_address_is_confirmed_from_the_mail_in_spanish(
    console: Console, console_url: str, smtp_server: SmtpServer
) -> None:
    email = unique_email("confirma")
    register(console_url, email)
    path, token = mail_link(smtp_server, email, VERIFY_SUBJECT)
    person = console.person("verify-es", locale="es-EC", phone=True)
    person.go(f"{path}?token={token}")
    expect(
        person.page.get_by_role("heading", name="Confirme su correo electrónico")
    ).to_be_visible()
    person.check("verify-es")
    person.page.get_by_role("button", name="Confirmar mi correo").click()
    expect(person.page.get_by_role("status")).to_contain_text(f"{email} quedó confirmado")
    person.check("verified-es")
    assert _fits(person)


def test_the_profile_security_pages_devices_password_and_notification_choices(
    console: Console, console_url: str
) -> None:
    email = unique_email("secure")
    register(console_url, email)  # a first session, elsewhere
    person = console.person("secure", phone=True)
    person.sign_in(email, NEW_PASSWORD)
    person.go("/profile")
    person.check("profile")
    person.page.get_by_role("link", name="Notification choices").click()
    expect(person.page.get_by_role("heading", name="Notification choices")).to_be_visible()
    person.check("notification-choices")
    assert _fits(person), "the choices table scrolls the page sideways on a phone"
    box = person.page.get_by_label("Reminder: SMS")
    expect(box).to_be_checked()
    # The keyboard alone: focus the box, untick it with Space, save with Enter.
    box.focus()
    person.page.keyboard.press("Space")
    expect(box).not_to_be_checked()
    person.page.get_by_role("button", name="Save").focus()
    person.page.keyboard.press("Enter")
    expect(person.page.get_by_role("status")).to_contain_text("Saved")
    expect(person.page.get_by_label("Reminder: SMS")).not_to_be_checked()
    expect(person.page.get_by_label("Reminder: Email")).to_be_checked()

    person.page.get_by_role("link", name="Signed-in devices").click()
    expect(person.page.locator("[data-session]")).to_have_count(2)
    expect(person.page.locator(".badge", has_text="This device")).to_have_count(1)
    person.check("devices")
    person.page.get_by_role("button", name="Sign out every other device").click()
    expect(person.page.get_by_role("status")).to_contain_text("Every other device")
    expect(person.page.locator("[data-session]")).to_have_count(1)

    person.page.get_by_role("link", name="Password").click()
    person.check("password")
    person.page.locator("#current_password").fill("not my password")
    person.page.locator("#new_password").fill("a changed passphrase 11")
    person.page.get_by_role("button", name="Change the password").click()
    expect(person.page.get_by_role("alert")).to_contain_text("current password is not right")
    expect(person.page.locator("#current_password")).to_have_attribute("aria-invalid", "true")
    person.page.locator("#current_password").fill(NEW_PASSWORD)
    person.page.locator("#new_password").fill("a changed passphrase 11")
    person.page.get_by_role("button", name="Change the password").click()
    expect(person.page.get_by_role("status")).to_contain_text("Your password was changed")
    person.go("/appointments")  # still signed in here
    expect(person.page.get_by_role("heading", name="My appointments")).to_be_visible()


def test_a_doctor_turns_on_two_step_sign_in_and_signs_in_with_a_code(
    console: Console, console_url: str
) -> None:
    email = unique_email("twostep")
    new_doctor(console_url, email)
    doctor = console.person("twostep")
    doctor.sign_in(email, NEW_PASSWORD)
    doctor.go("/profile")
    doctor.page.get_by_role("link", name="Two-step sign-in").click()
    expect(doctor.page.locator("#twofa-state")).to_contain_text("off")
    doctor.check("2fa-off")
    doctor.page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(doctor.page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    doctor.check("2fa-scan")
    totp = pyotp.TOTP(doctor.page.locator("#totp-secret").inner_text().strip())
    doctor.page.locator("#code").fill(totp.now())
    doctor.page.get_by_role("button", name="Confirm").click()
    expect(doctor.page.locator("#recovery-codes li")).to_have_count(10)
    doctor.check("2fa-codes")

    doctor.page.get_by_role("button", name="Sign out").click()
    expect(doctor.page.get_by_role("heading", name="Sign in")).to_be_visible()
    doctor.page.locator("#email").fill(email)
    doctor.page.locator("#password").fill(NEW_PASSWORD)
    doctor.page.locator("main form button[type=submit]").click()
    expect(doctor.page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    doctor.check("2fa-step")
    # The confirming code's time step is spent: the next one (accepted a step early).
    doctor.page.locator("#code").fill(totp.at(time.time() + 30))
    doctor.page.keyboard.press("Enter")
    expect(doctor.page).to_have_url(re.compile(r"/doctor/today$"))
    expect(doctor.page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_patient_subscribes_a_calendar_app_copies_the_address_and_revokes_it(
    console: Console,
) -> None:
    patient = console.person("calendar")
    patient.context.grant_permissions(["clipboard-read", "clipboard-write"])
    patient.sign_in(PATIENT)
    patient.page.get_by_role("link", name="Subscribe to my appointments").click()
    expect(patient.page.get_by_role("heading", name="Calendar subscription")).to_be_visible()
    patient.check("calendar")
    patient.page.locator("#label").fill("Browser phone")
    patient.page.get_by_role("button", name="Create a subscription").click()
    webcal = patient.page.locator("#feed-webcal")
    expect(webcal).to_have_value(re.compile(r"^webcal://127\.0\.0\.1:\d+/calendar/.+\.ics$"))
    expect(patient.page.locator("#feed-https")).to_have_value(re.compile(r"^http://"))
    patient.check("calendar-created")
    patient.page.get_by_role("button", name="Copy: Address for calendar apps (webcal)").click()
    expect(patient.page.locator("#copy-status")).to_have_text("Copied.")
    copied = patient.page.evaluate("navigator.clipboard.readText()")
    assert copied == webcal.input_value()

    card = patient.page.locator("[data-feed]", has_text="Browser phone").first
    card.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(patient.page.get_by_role("status")).to_contain_text("no longer works")
    expect(patient.page.locator("#feed-webcal")).to_have_count(0)
