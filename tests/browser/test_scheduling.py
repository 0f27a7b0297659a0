"""Scheduling in a real browser: visit types, the waitlist's offer of a freed time,
and recurring series (ADRs 0020-0022), checked with axe-core and screenshotted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.console import ADMIN, DOCTOR, MAYA, OTHER_PATIENT, PATIENT, Console, Person
from tests.browser.scheduling_support import own_console


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own (``scheduling_support``: the sign-in limit)."""
    with own_console(tmp_path_factory) as url:
        yield url


def _week_of_romero(person: Person, days_ahead: int) -> str:
    """Open Dr. Romero's free times ``days_ahead`` from today; their page's path."""
    person.go("/doctors?name=Romero")
    person.page.get_by_role("link", name=re.compile("See free times")).click()
    expect(person.page.locator("a.slot").first).to_be_visible()
    path = urlsplit(person.page.url).path
    week = (datetime.now(UTC) + timedelta(days=days_ahead)).date().isoformat()
    person.go(f"{path}?week={week}")
    expect(person.page.locator("a.slot").first).to_be_visible()
    return path


def _starts_at(href: str) -> datetime:
    return datetime.fromisoformat(parse_qs(urlsplit(href).query)["starts_at"][0])


def _reader_zone(person: Person) -> ZoneInfo:
    note = person.page.locator("footer").inner_text()
    found = re.search(r"Times are shown in ([A-Za-z_/+-]+)\.", note)
    assert found, note
    return ZoneInfo(found.group(1))


def _fits(person: Person) -> bool:
    """No sideways scrolling (the page fits a phone's width)."""
    return bool(
        person.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def test_a_doctor_adds_a_visit_type_and_a_patient_books_its_length(console: Console) -> None:
    doctor = console.person("doctor")
    doctor.sign_in(DOCTOR)
    doctor.page.get_by_role("link", name="Visit types").click()
    expect(doctor.page.get_by_role("heading", name=re.compile("^Visit types"))).to_be_visible()
    new = doctor.page.locator(
        "form", has=doctor.page.get_by_role("button", name="Add this visit type")
    )
    new.get_by_label("Name").fill("Browser physio session")
    new.get_by_label("Length (minutes)").fill("45")
    new.get_by_label("Free after (minutes)").fill("15")
    new.get_by_role("button", name="Add this visit type").click()
    expect(doctor.page.get_by_role("status")).to_contain_text("Visit type added.")
    card = doctor.page.locator("section.card", has_text="Browser physio session")
    expect(card.get_by_label("Length (minutes)")).to_have_value("45")
    doctor.check("visit-types")
    # A fresh page: axe-core leaves empty style attributes behind, which htmx's settling
    # would copy onto the swapped-in elements of the same id (a CSP refusal of the test's
    # making, not the page's).
    doctor.go("/doctor/visit-types")
    card = doctor.page.locator("section.card", has_text="Browser physio session")
    # A refused value is answered on the form, in words, and the typed value stays.
    card.get_by_label("Free before (minutes)").fill("500")
    card.get_by_role("button", name="Save Browser physio session").click()
    expect(doctor.page.get_by_role("alert")).to_contain_text("buffer_before_minutes")
    expect(
        doctor.page.locator("section.card", has_text="Browser physio session").get_by_label(
            "Free before (minutes)"
        )
    ).to_have_value("500")
    doctor.check("visit-types-refused")

    patient = console.person("patient", phone=True)
    patient.sign_in(OTHER_PATIENT)
    _week_of_romero(patient, 35)
    patient.page.get_by_label("Kind of visit").select_option(
        label="Browser physio session (45 min)"
    )
    patient.page.get_by_role("button", name="Show free times").click()
    expect(
        patient.page.get_by_text("Free times for: Browser physio session, 45 minutes.")
    ).to_be_visible()
    patient.check("week-typed")
    assert _fits(patient), "the typed week scrolls sideways on a phone"
    slots = patient.page.locator("a.slot")
    first, second = (_starts_at(slots.nth(i).get_attribute("href") or "") for i in (0, 1))
    assert second - first == timedelta(minutes=60)  # 45 minutes + 15 free after
    slots.first.click()
    expect(patient.page.get_by_text("Browser physio session (45 min)")).to_be_visible()
    patient.check("book-typed")
    patient.page.locator("#reason").fill("Typed visit from the browser")
    patient.page.get_by_role("button", name="Request this appointment").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Requested")
    expect(patient.page.locator(".card", has_text="Typed visit from the browser")).to_be_visible()


def test_a_freed_time_is_offered_to_the_waitlist_and_accepted(console: Console) -> None:
    holder = console.person("holder")
    holder.sign_in(PATIENT)
    _week_of_romero(holder, 21)
    slot = holder.page.locator("a.slot").first
    starts_at = _starts_at(slot.get_attribute("href") or "")
    slot.click()
    holder.page.locator("#reason").fill("Held, then given up")
    holder.page.get_by_role("button", name="Request this appointment").click()
    expect(holder.page.get_by_role("status")).to_contain_text("Requested")

    waiting = console.person("waiting")
    waiting.sign_in(MAYA)
    _week_of_romero(waiting, 21)
    waiting.page.get_by_role("link", name=re.compile("Join the waitlist")).click()
    expect(
        waiting.page.get_by_role("heading", name=re.compile("Wait for a time with"))
    ).to_be_visible()
    zone = _reader_zone(waiting)
    local = starts_at.astimezone(zone)
    waiting.page.get_by_label("From").fill(
        (local - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    )
    waiting.page.get_by_label("Until").fill((local + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    waiting.page.get_by_role("button", name="Join the waitlist").click()
    expect(waiting.page.get_by_role("status")).to_contain_text("You are on the waitlist.")
    expect(waiting.page.get_by_text("No offers right now.")).to_be_visible()
    waiting.check("waitlist")
    before = waiting.bell_count()

    holder.go("/appointments")
    mine = holder.page.locator(".card", has_text="Held, then given up")
    mine.get_by_text("Cancel", exact=True).click()
    mine.get_by_label("Why are you cancelling?").fill("Something came up")
    mine.get_by_role("button", name="Cancel this appointment").click()
    expect(holder.page.get_by_role("status")).to_contain_text("cancelled")

    # The bell of the waiting patient rings without a reload; the offer is on the list.
    expect(waiting.page.locator("#bell-count")).not_to_have_text(before, timeout=15_000)
    waiting.go("/waitlist")  # a fresh page (axe-core's leftovers, see above)
    offer = waiting.page.locator("article.offer")
    expect(offer).to_contain_text("Lucía Romero")
    waiting.check("offer")
    offer.get_by_role("button", name="Accept and book").click()
    expect(waiting.page.get_by_role("status")).to_contain_text("Requested")
    booked = waiting.page.locator(".card", has_text="offered from the waitlist")
    expect(booked).to_contain_text("Pending")
    expect(booked.locator("h3 time")).to_have_attribute(
        "datetime", starts_at.astimezone(UTC).isoformat()
    )
    waiting.check("offer-booked")


def test_a_recurring_series_previewed_booked_and_cut_short(console: Console) -> None:
    patient = console.person("series", phone=True)
    patient.sign_in(PATIENT)
    _week_of_romero(patient, 28)
    patient.page.locator("a.slot").first.click()
    patient.page.get_by_role("link", name=re.compile("Repeat this visit")).click()
    expect(patient.page.get_by_role("heading", name="Book a recurring series")).to_be_visible()
    patient.page.get_by_label("Daily", exact=True).check()
    patient.page.get_by_label("Number of visits", exact=True).fill("7")
    patient.page.get_by_label("Reason for the visit").fill("Daily browser series")
    patient.page.get_by_role("button", name="Show which visits can be booked").click()
    plan = patient.page.get_by_role("heading", name=re.compile(r"\d of 7 visits can be booked"))
    expect(plan).to_be_visible()
    fitting = int((plan.inner_text()).split(" ", 1)[0])
    assert 0 < fitting < 7  # a week of days has a weekend without office hours
    expect(patient.page.locator(".outcomes li.no").first).to_contain_text("cannot be booked")
    patient.check("series-preview")
    assert _fits(patient), "the series preview scrolls sideways on a phone"
    patient.page.get_by_role("button", name=f"Book the {fitting} that can be booked").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Series requested")
    occurrences = patient.page.locator("li.card[id^=occurrence-]")
    expect(occurrences).to_have_count(fitting)
    patient.check("series")
    assert _fits(patient), "the series page scrolls sideways on a phone"

    second = occurrences.nth(1)
    second.get_by_text("Cancel…").click()
    second.get_by_label("This one and all the following ones").check()
    second.get_by_label("Why are you cancelling?").fill("Course shortened")
    second.get_by_role("button", name="Cancel these visits").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Cancelled")
    expect(patient.page.locator(".badge.status-cancelled")).to_have_count(fitting - 1)
    expect(patient.page.locator(".badge.status-pending")).to_have_count(1)
    patient.check("series-cut")


def test_staff_find_patients_and_the_admin_downloads_reports(console: Console) -> None:
    doctor = console.person("doctor", phone=True)
    doctor.sign_in(DOCTOR)
    doctor.page.get_by_role("link", name="Patients").click()
    expect(doctor.page.get_by_role("heading", name="Patients")).to_be_visible()
    # The keyboard alone: type in the search box, Enter submits it.
    doctor.page.get_by_label("Name or email").press_sequentially("garcia")
    doctor.page.keyboard.press("Enter")
    expect(doctor.page.get_by_role("cell", name=PATIENT)).to_be_visible()
    doctor.check("patients-phone")
    assert _fits(doctor), "the patient search scrolls sideways on a phone"

    admin = console.person("admin", locale="es-EC")
    admin.sign_in(ADMIN)
    admin.page.get_by_role("link", name="Descargar estas cifras como CSV").click()
    expect(admin.page.get_by_role("heading", name="Informes")).to_be_visible()
    admin.page.get_by_label("Completada", exact=True).check()
    admin.page.get_by_role("button", name="Aplicar los filtros").click()
    link = admin.page.get_by_role("link", name="Citas que cumplen estos filtros")
    expect(link).to_have_attribute("href", re.compile(r"status=completed"))
    admin.check("reports-es")
    with admin.page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".csv")
