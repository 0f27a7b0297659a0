"""The console's lists in a real browser: my appointments redrawn live when the doctor
acts, and a notification marked unread again."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.console import DOCTOR, MAYA, Console


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
