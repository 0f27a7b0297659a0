"""The console's lists in a real browser: my appointments redrawn live when the doctor
acts, a notification marked unread again, the audit log paged with its filter, and
the admin's edits of a doctor and a specialty."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.account_http import feed_audit_lines, new_doctor, unique_email
from tests.browser.conftest import serve_console
from tests.browser.console import ADMIN, DOCTOR, MAYA, Console
from tests.services import SmtpServer


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    """This module's own console server: its many sign-ins and registrations from
    127.0.0.1 count against rate limits of its own, not the other modules' server's."""
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


def test_the_patient_list_follows_the_doctor_approval_without_a_reload(console: Console) -> None:
    reason = f"Live list check {uuid.uuid4().hex[:6]}"
    patient = console.person("live-patient")
    patient.sign_in(MAYA)
    patient.go("/doctors?name=Romero")
    patient.page.get_by_role("link", name=re.compile("See free times")).first.click()
    patient.page.locator("a.slot").first.click()
    patient.page.locator("#reason").fill(reason)
    patient.page.get_by_role("button", name="Request this appointment").click()
    card = patient.page.locator(".card", has_text=reason)
    expect(card).to_contain_text("Pending")
    # A mark that a reload would wipe out.
    patient.page.evaluate("window.__stillHere = true")

    doctor = console.person("live-doctor")
    doctor.sign_in(DOCTOR)
    doctor.go("/doctor/queue")
    doctor.page.locator(".card", has_text=reason).get_by_role("button", name="Approve").click()
    expect(doctor.page.get_by_role("status")).to_contain_text("Approved")

    expect(card).to_contain_text("Approved", timeout=15_000)
    assert patient.page.evaluate("window.__stillHere === true"), "the page was reloaded"
    patient.check("appointments-live")


def test_a_notification_is_marked_read_then_unread(console: Console) -> None:
    patient = console.person("unread")
    patient.sign_in(MAYA)
    patient.go("/notifications")
    patient.page.get_by_role("button", name="Mark all read").click()
    expect(patient.page.locator("li.card.unread")).to_have_count(0)
    first = patient.page.locator("li.card").first
    one = first.get_attribute("data-notification")
    first.get_by_role("button", name=re.compile("^Mark unread")).click()
    card = patient.page.locator(f'li[data-notification="{one}"]')
    expect(card).to_have_class(re.compile(r"\bunread\b"))
    expect(card.locator(".badge")).to_have_text("Unread")
    expect(patient.page.locator("#bell-count")).to_have_text("1")
    patient.check("notifications-unread")


def test_the_admin_pages_through_the_audit_log_keeping_the_filter(
    console: Console, console_url: str
) -> None:
    feed_audit_lines(console_url, 52)
    admin = console.person("audit-pages", phone=True)
    admin.sign_in(ADMIN)
    admin.go("/admin/audit")
    admin.page.locator("#action").fill("calendar_feed.created")
    admin.page.locator("#action").press("Enter")
    pages = admin.page.get_by_role("navigation", name="Pages")
    expect(pages).to_contain_text("page 1 of")
    admin.check("audit-page-1")
    pages.get_by_role("link", name="Next →").click()
    expect(admin.page.get_by_role("navigation", name="Pages")).to_contain_text("page 2 of")
    expect(admin.page.locator("#action")).to_have_value("calendar_feed.created")
    admin.check("audit-page-2")
    admin.page.get_by_role("link", name="← Previous").click()
    expect(admin.page.get_by_role("navigation", name="Pages")).to_contain_text("page 1 of")


def test_the_admin_edits_a_doctor_and_renames_a_specialty(
    console: Console, console_url: str
) -> None:
    email = unique_email("edit-browser")
    new_doctor(console_url, email)
    admin = console.person("admin-edit")
    admin.sign_in(ADMIN)
    admin.go("/admin/users")
    admin.page.locator("#search").fill(email)
    admin.page.locator("#search").press("Enter")
    admin.page.get_by_role("link", name="Edit: Dr. Test Factor").click()
    expect(admin.page.get_by_role("heading", name="Doctor: Dr. Test Factor")).to_be_visible()
    admin.check("edit-doctor")
    admin.page.locator("#visit_minutes").fill("40")
    admin.page.get_by_role("button", name="Save").click()
    expect(admin.page.get_by_role("status")).to_contain_text("Saved")
    expect(admin.page.locator("#visit_minutes")).to_have_value("40")
    admin.page.get_by_role("button", name="Deactivate").click()
    expect(admin.page.get_by_role("status")).to_contain_text("deactivated")
    admin.page.get_by_role("button", name="Activate").click()
    expect(admin.page.get_by_role("status")).to_contain_text("activated")

    tag = uuid.uuid4().hex[:6]
    admin.page.get_by_role("link", name="Specialties").click()
    admin.page.locator("#name").fill(f"Sports medicine {tag}")
    admin.page.get_by_role("button", name="Add the specialty").click()
    card = admin.page.locator("[data-specialty]", has_text=f"Sports medicine {tag}")
    card.locator("summary").click()
    card.get_by_label("Name").fill(f"Sport and exercise {tag}")
    admin.check("rename-specialty")
    card.get_by_role("button", name="Save").click()
    expect(admin.page.get_by_role("status")).to_contain_text("Saved")
    expect(admin.page.get_by_role("heading", name=f"Sport and exercise {tag}")).to_be_visible()
