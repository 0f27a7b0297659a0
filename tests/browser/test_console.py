"""The console in a real browser: what patients and doctors do, live, in both languages."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from tests.browser.console import (
    ADMIN,
    DEMO_PASSWORD,
    DOCTOR,
    DOCTOR_NAME,
    MAYA,
    OTHER_PATIENT,
    PATIENT,
    Console,
    Person,
)


def test_a_patient_books_the_doctor_approves_and_the_bell_rings_without_reload(
    console: Console,
) -> None:
    doctor = console.person("doctor")
    doctor.sign_in(DOCTOR)
    doctor.check("today")
    doctor.page.get_by_role("link", name="Requests").click()
    expect(doctor.page.get_by_role("heading", name="Pending requests")).to_be_visible()

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

    # The doctor's queue, open all along, shows the request without a reload.
    request_card = doctor.page.locator(".card", has_text="Persistent cough")
    expect(request_card).to_be_visible(timeout=15_000)
    doctor.check("queue")

    # Boosted navigations keep the page's one event stream (no new one per click: the
    # server allows a handful per person).
    for _ in range(4):
        patient.page.get_by_role("link", name="Find a doctor").click()
        expect(patient.page.get_by_role("heading", name="Find a doctor")).to_be_visible()
        patient.page.get_by_role("link", name="My appointments").click()
        expect(patient.page.get_by_role("heading", name="My appointments")).to_be_visible()

    request_card.get_by_role("button", name="Approve").click()
    expect(doctor.page.get_by_role("status")).to_contain_text("Approved")

    # The patient's page was not reloaded: the count follows the event stream.
    expect(patient.page.locator("#bell-count")).not_to_have_text(before, timeout=15_000)
    assert patient.page.url.endswith("/appointments")

    patient.page.locator("a.bell").click()
    expect(patient.page.get_by_role("heading", name="Notifications")).to_be_visible()
    patient.check("notifications")
    patient.page.get_by_role("button", name="Mark all read").click()
    expect(patient.page.locator("#bell-count")).to_have_text("")


def _first_free_time(person: Person) -> str:
    """The booking link of the doctor's first free time this week."""
    person.go("/doctors?name=Romero")
    person.page.get_by_role("link", name=re.compile("See free times")).click()
    slot = person.page.locator("a.slot").first
    expect(slot).to_be_visible()
    href = slot.get_attribute("href")
    assert href is not None
    return href


def _book(person: Person, href: str, reason: str) -> None:
    person.go(href)
    person.page.locator("#reason").fill(reason)
    person.page.get_by_role("button", name="Request this appointment").click()


def test_a_taken_time_answers_409_in_words_and_offers_the_next_free_times(
    console: Console,
) -> None:
    slow = console.person("slow")
    slow.sign_in(PATIENT)
    fast = console.person("fast")
    fast.sign_in(OTHER_PATIENT)
    href = _first_free_time(slow)
    slow.go(href)
    slow.page.locator("#reason").fill("I was here first")

    _book(fast, href, "Faster")
    expect(fast.page.get_by_role("status")).to_contain_text("Requested")

    slow.page.get_by_role("button", name="Request this appointment").click()
    alert = slow.page.get_by_role("alert").first
    expect(alert).to_contain_text("That time was just taken")
    expect(slow.page.get_by_role("heading", name="Next free times:")).to_be_visible()
    alternatives = slow.page.locator("#alternatives ~ ul a.slot")
    expect(alternatives.first).to_be_visible()
    slow.check("conflict")
    # One of the offered times books at once.
    alternatives.first.click()
    slow.page.get_by_role("button", name="Request this appointment").click()
    expect(slow.page.get_by_role("status")).to_contain_text("Requested")


def test_the_doctor_rejects_with_a_reason_and_the_patient_cancels(console: Console) -> None:
    patient = console.person("patient")
    patient.sign_in(PATIENT)
    _book(patient, _first_free_time(patient), "Please reject me")
    expect(patient.page.get_by_role("status")).to_contain_text("Requested")
    _book(patient, _first_free_time(patient), "I will cancel this one")
    expect(patient.page.get_by_role("status")).to_contain_text("Requested")

    doctor = console.person("doctor")
    doctor.sign_in(DOCTOR)
    doctor.go("/doctor/queue")
    card = doctor.page.locator(".card", has_text="Please reject me")
    card.get_by_text("Reject", exact=True).click()  # the <summary> opens the form
    card.get_by_label("Reason for rejecting").fill("Fully booked that morning")
    card.get_by_role("button", name="Reject this request").click()
    expect(doctor.page.get_by_role("status")).to_contain_text("Rejected")

    patient.go("/appointments")
    rejected = patient.page.locator(".card", has_text="Please reject me")
    expect(rejected).to_contain_text("Rejected: Fully booked that morning")
    rejected.get_by_text("History").click()
    expect(rejected.locator("ol.history li")).to_have_count(2)  # requested, rejected
    expect(rejected.locator("ol.history li").last).to_contain_text("Rejected (Doctor)")

    mine = patient.page.locator(".card", has_text="I will cancel this one")
    mine.get_by_text("Cancel", exact=True).click()
    mine.get_by_label("Why are you cancelling?").fill("Feeling better")
    mine.get_by_role("button", name="Cancel this appointment").click()
    expect(patient.page.get_by_role("status")).to_contain_text("cancelled")
    expect(patient.page.locator(".card", has_text="I will cancel this one")).to_contain_text(
        "Cancelled"
    )
    patient.check("after-cancel")


def test_spanish_from_the_browser_and_english_by_the_switch(console: Console) -> None:
    person = console.person("es", locale="es-EC")
    person.go("/login")
    expect(person.page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    assert person.page.locator("html").get_attribute("lang") == "es"
    person.check("login-es")
    person.page.locator("#email").fill(PATIENT)
    person.page.locator("#password").fill(DEMO_PASSWORD)
    person.page.get_by_role("button", name="Entrar").click()
    expect(person.page.get_by_role("heading", name="Mis citas")).to_be_visible()
    person.check("appointments-es")
    person.go("/doctors?name=Romero")
    person.page.get_by_role("link", name=re.compile("Ver horarios libres")).click()
    expect(person.page.locator(".day h3").first).to_contain_text(
        re.compile(r"^(lun|mar|mié|jue|vie|sáb|dom) ")
    )
    person.check("week-es")

    person.page.get_by_role("link", name="English").click()
    expect(person.page.get_by_role("heading", name=re.compile("Free times with"))).to_be_visible()
    person.go("/appointments")  # the choice is kept (a cookie), whatever the browser asks
    expect(person.page.get_by_role("heading", name="My appointments")).to_be_visible()


def test_on_a_phone_the_pages_fit_the_screen(console: Console) -> None:
    person = console.person("phone", phone=True)
    person.go("/login")
    person.check("login-phone")
    person.sign_in(PATIENT)
    for path, name in (("/appointments", "appointments"), ("/doctors", "doctors")):
        person.go(path)
        person.check(f"{name}-phone")
        assert _fits(person), f"{path} scrolls sideways on a phone"
    person.page.get_by_role("link", name=re.compile("See free times")).first.click()
    expect(person.page.locator("a.slot").first).to_be_visible()
    person.check("week-phone")
    assert _fits(person), "the week view scrolls sideways on a phone"


def _fits(person: Person) -> bool:
    return bool(
        person.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def test_a_visitor_registers_and_lands_on_their_appointments(console: Console) -> None:
    person = console.person("new")
    person.go("/register")
    person.check("register")
    # The browser's zone is proposed (console.js), and the pages then use it.
    expect(person.page.locator("#timezone")).to_have_value("America/Guayaquil")
    person.page.locator("#full_name").fill("Rosa Andrade")
    person.page.locator("#email").fill(f"rosa.{uuid.uuid4().hex[:8]}@example.ec")
    person.page.locator("#password").fill("a long enough passphrase 42")
    person.page.get_by_role("button", name="Create my account").click()
    expect(person.page.get_by_role("heading", name="My appointments")).to_be_visible()
    expect(person.page.locator(".foot")).to_contain_text("America/Guayaquil")

    person.page.get_by_role("button", name="Sign out").click()
    expect(person.page.get_by_role("heading", name="Sign in")).to_be_visible()
    person.go("/appointments")  # signed out: back to sign in, then here
    expect(person.page).to_have_url(re.compile(r"/login\?next=%2Fappointments$"))


def test_pages_are_refused_to_other_roles_and_errors_read_as_words(console: Console) -> None:
    doctor = console.person("doctor")
    doctor.sign_in(DOCTOR)
    doctor.go("/appointments")
    expect(doctor.page.get_by_role("alert")).to_contain_text("This page is not for your account")
    doctor.check("forbidden")
    doctor.go("/doctors/00000000-0000-0000-0000-000000000000")
    expect(doctor.page.get_by_role("alert")).to_contain_text("not found")


def test_an_expired_access_token_is_renewed_from_the_refresh_cookie(console: Console) -> None:
    person = console.person("resume")
    person.sign_in(PATIENT)
    # Leave the signed-in page first: its live bell, reconnecting without the access
    # cookie, would send the person to sign in from that page and race the visit below.
    person.page.goto("about:blank")
    # As when the access token expires: the browser drops the cookie (its max-age).
    person.context.clear_cookies(name="__Host-hduce_access")
    person.go("/appointments?done=cancelled")
    # The page sends the person to sign in; the sign-in page trades the refresh cookie
    # for a new session and comes straight back.
    expect(person.page).to_have_url(re.compile(r"/appointments\?done=cancelled$"), timeout=10_000)
    expect(person.page.get_by_role("heading", name="My appointments")).to_be_visible()
    expect(person.page.get_by_role("button", name="Sign out")).to_be_visible()


def test_the_admin_sees_the_statistics_charts_and_deactivates_an_account(
    console: Console,
) -> None:
    admin = console.person("admin")
    admin.sign_in(ADMIN)
    expect(admin.page.get_by_role("heading", name="Statistics")).to_be_visible()
    for chart in ("Bookings per day", "Status mix", "Per doctor", "Per specialty"):
        figure = admin.page.locator("figure", has_text=chart)
        expect(figure.locator("svg rect").first).to_be_attached()
    assert admin.page.locator("svg.vbars rect").count() >= 28  # a day per bar
    admin.check("statistics")

    admin.page.get_by_role("link", name="Accounts").click()
    admin.page.locator("#search").fill("sam.taylor")
    admin.page.get_by_role("button", name="Search").click()
    expect(admin.page.get_by_role("status")).to_contain_text("1 accounts found")
    admin.check("users")
    admin.page.get_by_role("button", name="Deactivate: Sam Taylor").click()
    expect(admin.page.get_by_role("status").first).to_contain_text("deactivated")

    sam = console.person("sam")
    sam.go("/login")
    sam.page.locator("#email").fill("sam.taylor@demo.hduce.local")
    sam.page.locator("#password").fill(DEMO_PASSWORD)
    sam.page.get_by_role("button", name="Sign in").last.click()
    expect(sam.page.get_by_role("alert")).to_be_visible()
    sam.check("refused-sign-in")

    admin.page.locator("#search").fill("sam.taylor")
    admin.page.get_by_role("button", name="Search").click()
    admin.page.get_by_role("button", name="Reactivate: Sam Taylor").click()
    expect(admin.page.get_by_role("status").first).to_contain_text("reactivated")


def test_a_patient_moves_an_appointment_to_another_time(console: Console) -> None:
    patient = console.person("patient")
    patient.sign_in(OTHER_PATIENT)
    _book(patient, _first_free_time(patient), "Booked to be moved")
    expect(patient.page.get_by_role("status")).to_contain_text("Requested")
    card = patient.page.locator(".card", has_text="Booked to be moved")
    card.get_by_role("link", name="Move to another time").click()
    expect(patient.page.get_by_text("Choose the new time")).to_be_visible()
    patient.page.locator("a.slot").nth(1).click()
    expect(patient.page.get_by_role("heading", name="Move an appointment")).to_be_visible()
    patient.check("move")
    patient.page.get_by_role("button", name="Move my appointment here").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Moved")
    # The old visit is cancelled (its history kept), the new one waits for the doctor.
    badges = patient.page.locator(".card", has_text="Booked to be moved").locator(".badge")
    expect(badges.filter(has_text="Cancelled")).to_have_count(1)
    expect(badges.filter(has_text="Pending")).to_have_count(1)


def test_profile_notification_choices_and_the_notification_list(console: Console) -> None:
    person = console.person("profile")
    person.sign_in(PATIENT)
    person.page.get_by_role("link", name="Profile").click()
    expect(person.page.get_by_role("heading", name="My profile")).to_be_visible()
    person.check("profile")
    person.page.locator("#phone").fill("12345")
    person.page.get_by_role("button", name="Save").click()
    expect(person.page.get_by_role("alert")).to_contain_text("E.164")
    expect(person.page.locator("#phone")).to_have_attribute("aria-invalid", "true")
    person.page.locator("#phone").fill("+593991234567")
    person.page.get_by_label("Send me text messages (SMS)").uncheck()
    person.page.get_by_role("button", name="Save").click()
    expect(person.page.get_by_role("status")).to_contain_text("Saved")
    person.go("/profile")
    expect(person.page.get_by_label("Send me text messages (SMS)")).not_to_be_checked()
    expect(person.page.get_by_label("Email me")).to_be_checked()
    person.page.get_by_label("Send me text messages (SMS)").check()
    person.page.get_by_role("button", name="Save").click()
    expect(person.page.get_by_role("status")).to_contain_text("Saved")

    person.go("/notifications")
    unread = person.page.locator("li.card.unread").first
    expect(unread).to_be_visible()
    one = unread.get_attribute("data-notification")
    unread.get_by_role("button", name=re.compile("^Mark read")).click()
    card = person.page.locator(f'li[data-notification="{one}"]')
    expect(card).not_to_have_class(re.compile(r"\bunread\b"))
    expect(card.locator(".badge")).to_have_text("Read")
    card.get_by_role("button", name=re.compile("^Delete")).click()
    expect(person.page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(person.page.locator(f'li[data-notification="{one}"]')).to_have_count(0)


def test_the_doctor_agenda_today_and_this_week(console: Console) -> None:
    doctor = console.person("doctor")
    doctor.sign_in(DOCTOR)
    expect(doctor.page.get_by_role("heading", name="Today's agenda")).to_be_visible()
    doctor.page.get_by_role("link", name="This week").click()
    expect(doctor.page.get_by_role("heading", name="This week's agenda")).to_be_visible()
    expect(doctor.page.locator("main section h2")).to_have_count(7)
    doctor.check("week-agenda")
    # The demo clinic has approved visits in the coming days: checking one in days
    # early is refused by the rules, in words.
    early = doctor.page.get_by_role("button", name=re.compile("^Check in"))
    if early.count():
        early.first.click()
        expect(doctor.page.get_by_role("alert")).to_contain_text("check-in is open from")
        doctor.check("refused-check-in")


def test_the_admin_creates_a_doctor_sets_hours_and_patients_can_book_them(
    console: Console,
) -> None:
    admin = console.person("admin")
    admin.sign_in(ADMIN)
    tag = uuid.uuid4().hex[:6]
    admin.page.get_by_role("link", name="Specialties").click()
    admin.page.locator("#name").fill(f"Pediatrics {tag}")
    admin.page.get_by_role("button", name="Add the specialty").click()
    expect(admin.page.get_by_role("status")).to_contain_text("added")
    admin.check("specialties")

    admin.page.get_by_role("link", name="New doctor").click()
    admin.check("new-doctor")
    admin.page.locator("#full_name").fill(f"Dr. Paula Vega {tag}")
    admin.page.locator("#email").fill(f"paula.{tag}@hospital.example")
    admin.page.locator("#licence_number").fill(f"UIO-{tag}")
    admin.page.locator("#specialty_id").select_option(label=f"Pediatrics {tag}")
    admin.page.locator("#timezone").fill("America/Guayaquil")
    admin.page.locator("#password").fill("a long doctor passphrase 7")
    admin.page.get_by_role("button", name="Create the doctor").click()
    expect(admin.page.get_by_role("heading", name=re.compile("Working hours"))).to_be_visible()
    expect(admin.page.get_by_role("status")).to_contain_text("Now set their working hours")

    admin.page.locator("#day0").fill("8:00-12")  # refused, in words, beside the field
    admin.page.get_by_role("button", name="Save the weekly hours").click()
    expect(admin.page.get_by_role("alert")).to_contain_text("is not a time")
    expect(admin.page.locator("#day0")).to_have_attribute("aria-invalid", "true")
    for day in range(7):
        admin.page.locator(f"#day{day}").fill("08:00-12:00, 13:00-20:00")
    admin.page.get_by_role("button", name="Save the weekly hours").click()
    expect(admin.page.get_by_role("status")).to_contain_text("Saved")
    expect(admin.page.locator("#day3")).to_have_value("08:00-12:00, 13:00-20:00")
    admin.page.locator("#off_from").fill("2030-08-01")
    admin.page.locator("#off_to").fill("2030-08-15")
    admin.page.locator("#off_reason").fill("Holidays")
    admin.page.get_by_role("button", name="Add time off").click()
    expect(admin.page.get_by_role("status")).to_contain_text("Saved")
    admin.page.locator("#extra_on").fill("2030-09-07")
    admin.page.locator("#extra_start").fill("09:00")
    admin.page.locator("#extra_end").fill("11:00")
    admin.page.get_by_role("button", name="Add extra hours").click()
    expect(admin.page.locator("#planned ~ ul")).to_contain_text("Holidays")
    admin.check("hours")

    admin.go("/admin/audit?action=doctor.created")
    expect(admin.page.locator("table tbody tr").first).to_contain_text("doctor.created")
    admin.check("audit")

    patient = console.person("patient")
    patient.sign_in(PATIENT)
    patient.go(f"/doctors?name={tag}")
    patient.page.get_by_role("link", name=re.compile("See free times")).click()
    expect(patient.page.locator("a.slot").first).to_be_visible()

    doctor = console.person("new-doctor")
    doctor.sign_in(f"paula.{tag}@hospital.example", "a long doctor passphrase 7")
    doctor.page.get_by_role("link", name="Working hours").click()
    expect(doctor.page.locator("#day6")).to_have_value("08:00-12:00, 13:00-20:00")


def test_the_keyboard_alone_signs_in_and_focus_is_visible(console: Console) -> None:
    person = console.person("keyboard")
    person.go("/login")
    person.page.keyboard.press("Tab")
    skip = person.page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "the focused link shows no outline"
    person.page.keyboard.press("Enter")  # skip to the main content
    person.page.locator("#email").focus()
    person.page.keyboard.type(PATIENT)
    person.page.keyboard.press("Tab")
    expect(person.page.locator("#password")).to_be_focused()
    person.page.keyboard.type(DEMO_PASSWORD)
    person.page.keyboard.press("Enter")
    expect(person.page.get_by_role("heading", name="My appointments")).to_be_visible()


def test_doctor_and_admin_pages_fit_a_phone(console: Console) -> None:
    doctor = console.person("doctor-phone", phone=True)
    doctor.sign_in(DOCTOR)
    for path, name in (
        ("/doctor/queue", "queue"),
        ("/doctor/week", "week"),
        ("/doctor/hours", "hours"),
    ):
        doctor.go(path)
        doctor.check(f"{name}-phone")
        assert _fits(doctor), f"{path} scrolls sideways on a phone"
    admin = console.person("admin-phone", phone=True)
    admin.sign_in(ADMIN)
    for path, name in (("/admin", "statistics"), ("/admin/audit", "audit")):
        admin.go(path)
        admin.check(f"{name}-phone")
        assert _fits(admin), f"{path} scrolls sideways on a phone"


def _propose(base_url: str, patient_email: str, reason: str) -> None:
    """The doctor books for a patient through the JSON API: a proposal (PROPOSED)."""
    with httpx.Client(base_url=base_url + "/api/v1") as api:

        def bearer(email: str) -> dict[str, str]:
            answer = api.post("/auth/login", json={"email": email, "password": DEMO_PASSWORD})
            answer.raise_for_status()
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        admin, doctor = bearer(ADMIN), bearer(DOCTOR)
        users = api.get("/admin/users", params={"search": patient_email}, headers=admin).json()
        patient_id = users["items"][0]["id"]
        doctor_id = api.get("/auth/me", headers=doctor).json()["id"]
        today = datetime.now(UTC).date()
        slots = api.get(
            f"/doctors/{doctor_id}/slots",
            params={"from": today.isoformat(), "to": (today + timedelta(days=13)).isoformat()},
        ).json()
        for slot in slots:
            booked = api.post(
                "/appointments",
                json={
                    "doctor_id": doctor_id,
                    "patient_id": patient_id,
                    "starts_at": slot["starts_at"],
                    "reason": reason,
                },
                headers=doctor,
            )
            if booked.status_code == 201:
                assert booked.json()["status"] == "proposed"
                return
        raise AssertionError("no free time to propose")


def test_a_patient_accepts_one_proposal_and_declines_another(console: Console) -> None:
    _propose(console.base_url, MAYA, "Follow-up proposed by the doctor")
    _propose(console.base_url, MAYA, "Another proposal")
    patient = console.person("maya")
    patient.sign_in(MAYA)
    first = patient.page.locator(".card", has_text="Follow-up proposed by the doctor")
    expect(first.locator(".badge")).to_have_text("Proposed")
    patient.check("proposals")
    first.get_by_role("button", name="Accept the proposal").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Accepted")
    expect(first.locator(".badge")).to_have_text("Approved")

    second = patient.page.locator(".card", has_text="Another proposal")
    second.get_by_text("Decline", exact=True).click()
    second.get_by_label("Reason for the doctor (optional)").fill("I prefer afternoons")
    second.get_by_role("button", name="Decline the proposal").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Declined")
    expect(
        patient.page.locator(".card", has_text="Another proposal").locator(".badge")
    ).to_have_text("Rejected")
