"""The institution pages in a real browser (ADR 0025): an admin adds an institution
and a doctor who works there, sets the doctor's hours at it, and a patient on a phone
finds the doctor by institution and sees where each free time is."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.account_http import signed_in, unique_email
from tests.browser.conftest import serve_console
from tests.browser.console import ADMIN, PATIENT, Console, Person
from tests.browser.institution_support import new_doctor_id
from tests.services import SmtpServer


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    """This module's own console server (sign-ins are rate-limited per address)."""
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


def _fits(person: Person) -> bool:
    return bool(
        person.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def test_an_institution_its_doctor_and_hours_and_a_patient_finds_them_there(
    console: Console, console_url: str
) -> None:
    doctor_id = new_doctor_id(signed_in(console_url, ADMIN), unique_email("sitedoc"))
    name = f"Clínica Ribera {uuid.uuid4().hex[:4]}"

    admin = console.person("admin")
    admin.sign_in(ADMIN)
    admin.page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Institutions"
    ).click()
    expect(admin.page.get_by_role("heading", name="Institutions", exact=True)).to_be_visible()
    admin.check("institutions")
    admin.page.get_by_label("Name", exact=True).fill(name)
    admin.page.get_by_label("Kind").select_option("clinic")
    admin.page.get_by_label("Address", exact=True).fill("Av. 10 de Agosto 500")
    admin.page.get_by_label("City").fill("Quito")
    admin.page.get_by_label("Country").fill("EC")
    admin.page.get_by_label("Time zone").fill("America/Guayaquil")
    admin.page.get_by_role("button", name="Add the institution").click()
    expect(admin.page.get_by_role("heading", name=name)).to_be_visible()
    expect(admin.page.get_by_role("status")).to_contain_text("The institution was added")
    admin.check("institution")
    admin.page.get_by_label("Doctor", exact=True).select_option(doctor_id)
    admin.page.get_by_role("button", name="Add to this institution").click()
    expect(admin.page.get_by_role("status")).to_contain_text("The doctor works here now")
    admin.page.locator(f'[data-member="{doctor_id}"]').get_by_role("link").click()
    admin.page.wait_for_url(re.compile(r".*/hours\?institution=[0-9a-f-]{36}$"))
    expect(admin.page.get_by_label("Where")).to_have_value(admin.page.url.split("=")[-1])
    admin.check("hours-at-institution")
    for day in range(7):
        admin.page.locator(f"#day{day}").fill("08:00-11:00")
    admin.page.get_by_role("button", name="Save the weekly hours").click()
    expect(admin.page.get_by_role("status")).to_be_visible()
    expect(admin.page.locator("#day0")).to_have_value("08:00-11:00")

    patient = console.person("patient", phone=True)
    patient.sign_in(PATIENT)
    patient.go("/doctors")
    patient.page.get_by_label("Where").select_option(label=f"{name} · Quito")
    patient.page.get_by_role("button", name="Search").click()
    expect(patient.page.get_by_role("status")).to_contain_text("1 doctors found")
    patient.check("doctors-at-institution")
    assert _fits(patient)
    patient.page.get_by_role("link", name="See free times").click()
    expect(patient.page.get_by_text(f"Only the free times at {name}.")).to_be_visible()
    expect(patient.page.locator(".slot .place").first).to_have_text(name)
    patient.check("week-at-institution")
    assert _fits(patient), "the week with places scrolls sideways on a phone"
