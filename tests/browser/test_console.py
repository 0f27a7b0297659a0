"""The console in a real browser: what patients and doctors do, live, in both languages."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.console import DOCTOR, DOCTOR_NAME, PATIENT, Console


def test_a_patient_books_the_doctor_approves_and_the_bell_rings_without_reload(
    console: Console,
) -> None:
    patient = console.person("patient")
    patient.sign_in(PATIENT)
    patient.check("appointments")

    patient.go("/doctors")
    patient.page.locator("#name").fill("Romero")
    patient.page.get_by_role("button", name="Search").click()
    expect(patient.page.get_by_role("heading", name=DOCTOR_NAME, exact=False)).to_be_visible()
    patient.check("doctors")

    patient.page.get_by_role("link", name=re.compile("See free times")).click()
    expect(patient.page.locator("a.slot").first).to_be_visible()
    patient.check("week")
    patient.page.locator("a.slot").first.click()
    expect(patient.page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    patient.check("book")
    patient.page.locator("#reason").fill("Persistent cough, browser test")
    patient.page.get_by_role("button", name="Request this appointment").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Requested")
    expect(patient.page.locator(".card", has_text="Persistent cough")).to_contain_text("Pending")
    before = patient.bell_count()

    doctor = console.person("doctor")
    doctor.sign_in(DOCTOR)
    doctor.check("today")
    doctor.go("/doctor/queue")
    request_card = doctor.page.locator(".card", has_text="Persistent cough")
    expect(request_card).to_be_visible()
    doctor.check("queue")
    request_card.get_by_role("button", name="Approve").click()
    expect(doctor.page.get_by_role("status")).to_contain_text("Approved")

    # The patient's page was not reloaded: the count follows the event stream.
    expect(patient.page.locator("#bell-count")).not_to_have_text(before, timeout=15_000)
    assert patient.page.url.endswith("/appointments?done=booked")

    patient.page.locator("a.bell").click()
    expect(patient.page.get_by_role("heading", name="Notifications")).to_be_visible()
    patient.check("notifications")
    patient.page.get_by_role("button", name="Mark all read").click()
    expect(patient.page.locator("#bell-count")).to_have_text("")
