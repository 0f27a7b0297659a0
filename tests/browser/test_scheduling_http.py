"""The scheduling pages over plain HTTP (no browser): visit types, the waitlist and
recurring series answer as the JSON API's use cases decide, in words, on the form."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.browser.console import DOCTOR, OTHER_PATIENT, PATIENT
from tests.browser.scheduling_support import Signed, own_console, signed_in


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own (``scheduling_support``: the sign-in limit)."""
    with own_console(tmp_path_factory) as url:
        yield url


def _doctor_id(person: Signed) -> str:
    found = person.api("GET", "/doctors", params={"name": "Romero"}).json()
    return str(found["items"][0]["id"])


def _slot_links(page: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'class="slot" href="([^"]+)"', page)]


def test_a_doctor_edits_visit_types_and_the_week_shows_slots_of_that_length(
    console_url: str,
) -> None:
    with signed_in(console_url, DOCTOR) as doctor:
        page = doctor.get("/doctor/visit-types")
        assert page.status_code == 200
        assert "Add a visit type" in page.text
        refused = doctor.post(
            "/doctor/visit-types/new",
            {
                "name": "Too long",
                "duration_minutes": "600",
                "buffer_before_minutes": "0",
                "buffer_after_minutes": "0",
                "booking_horizon_days": "90",
                "minimum_notice_minutes": "60",
            },
        )
        assert refused.status_code == 400
        assert 'role="alert"' in refused.text
        assert "duration_minutes must be between 5 and 480 minutes" in refused.text
        assert 'value="Too long"' in refused.text  # what was typed stays
        created = doctor.post(
            "/doctor/visit-types/new",
            {
                "name": "Long first visit",
                "duration_minutes": "50",
                "buffer_before_minutes": "0",
                "buffer_after_minutes": "10",
                "booking_horizon_days": "60",
                "minimum_notice_minutes": "60",
            },
        )
        assert created.status_code == 303
        assert created.headers["location"] == "/doctor/visit-types?done=new"
        listed = doctor.get("/doctor/visit-types?done=new")
        assert "Visit type added." in listed.text
        assert 'value="Long first visit"' in listed.text
        doctor_id = _doctor_id(doctor)
        kinds = doctor.api("GET", f"/doctors/{doctor_id}/visit-types").json()
        kind = next(k for k in kinds if k["name"] == "Long first visit")
        assert kind["duration_minutes"] == 50
        assert kind["buffer_after_minutes"] == 10

    with signed_in(console_url, PATIENT) as patient:
        usual = patient.get(f"/doctors/{doctor_id}")
        assert "Long first visit (50 min)" in usual.text
        typed = patient.get(f"/doctors/{doctor_id}?visit_type={kind['id']}")
        assert "Free times for: Long first visit, 50 minutes." in typed.text
        links = _slot_links(typed.text)
        assert links and all(f"visit_type_id={kind['id']}" in link for link in links)
        starts = [
            datetime.fromisoformat(parse_qs(urlsplit(link).query)["starts_at"][0]) for link in links
        ]
        # Slots of one working stretch step by 50 + 10 minutes.
        steps = {b - a for a, b in itertools.pairwise(starts) if b - a < timedelta(hours=2)}
        assert timedelta(minutes=60) in steps
        book_page = patient.get(links[0])
        assert "Long first visit (50 min)" in book_page.text
        booked = patient.post(
            "/book",
            {
                "doctor_id": doctor_id,
                "starts_at": starts[0].isoformat(),
                "visit_type_id": kind["id"],
                "reason": "typed visit",
            },
        )
        assert booked.status_code == 303, booked.text
        mine = patient.api("GET", "/appointments", params={"limit": 100}).json()["items"]
        typed_visit = next(a for a in mine if a.get("reason") == "typed visit")
        assert typed_visit["visit_type_id"] == kind["id"]
        start = datetime.fromisoformat(typed_visit["starts_at"])
        end = datetime.fromisoformat(typed_visit["ends_at"])
        assert end - start == timedelta(minutes=50)

    with signed_in(console_url, DOCTOR) as doctor:
        deleted = doctor.post(f"/doctor/visit-types/{kind['id']}/delete")
        assert deleted.status_code == 303
        assert "Long first visit" not in doctor.get("/doctor/visit-types").text


def test_a_patient_joins_and_leaves_a_waitlist_and_staff_cannot(console_url: str) -> None:
    with signed_in(console_url, OTHER_PATIENT) as patient:
        doctor_id = _doctor_id(patient)
        form = patient.get(f"/waitlist?doctor_id={doctor_id}")
        assert form.status_code == 200
        assert 'type="datetime-local"' in form.text
        backwards = patient.post(
            "/waitlist",
            {"doctor_id": doctor_id, "earliest": "2031-01-10T12:00", "latest": "2031-01-10T09:00"},
        )
        assert backwards.status_code == 400
        assert 'role="alert"' in backwards.text
        joined = patient.post(
            "/waitlist",
            {"doctor_id": doctor_id, "earliest": "2031-01-10T09:00", "latest": "2031-01-10T12:00"},
        )
        assert joined.status_code == 303
        entries = patient.api("GET", "/waitlist").json()["items"]
        entry = next(e for e in entries if e["earliest"].startswith("2031-01-10"))
        # Read on the patient's own wall clock (their account's time zone).
        zone = ZoneInfo(patient.api("GET", "/auth/me").json()["timezone"])
        assert datetime.fromisoformat(entry["earliest"]) == datetime(2031, 1, 10, 9, tzinfo=zone)
        page = patient.get("/waitlist?done=joined")
        assert "You are on the waitlist." in page.text
        assert "Dr. Lucía Romero" in page.text
        left = patient.post(f"/waitlist/{entry['id']}/leave")
        assert left.status_code == 303
        assert entry["id"] not in {e["id"] for e in patient.api("GET", "/waitlist").json()["items"]}

    with signed_in(console_url, DOCTOR) as doctor:
        assert doctor.get("/waitlist").status_code == 403


def test_a_series_preview_lists_what_fits_and_books_what_fits(console_url: str) -> None:
    with signed_in(console_url, PATIENT) as patient:
        doctor_id = _doctor_id(patient)
        week = patient.get(
            f"/doctors/{doctor_id}?week={(datetime.now(UTC) + timedelta(days=14)).date()}"
        )
        first = _slot_links(week.text)[0]
        starts_at = parse_qs(urlsplit(first).query)["starts_at"][0]
        book_page = patient.get(first)
        assert "/series/new?doctor_id=" in book_page.text
        new = patient.get(f"/series/new?doctor_id={doctor_id}&starts_at={quote(starts_at)}")
        assert new.status_code == 200
        rule = {
            "doctor_id": doctor_id,
            "starts_at": starts_at,
            "freq": "DAILY",
            "interval": "1",
            "end": "count",
            "count": "7",
            "reason": "daily series",
        }
        preview = patient.post("/series", {**rule, "action": "preview"})
        assert preview.status_code == 200, preview.text
        plan = re.search(r"(\d+) of 7 visits can be booked", preview.text)
        assert plan is not None
        fitting = int(plan.group(1))
        # A week of days crosses a weekend without office hours: some do not fit.
        assert 0 < fitting < 7
        assert "cannot be booked" in preview.text
        weekly = patient.post(
            "/series",
            {**rule, "freq": "WEEKLY", "count": "4", "byday": ["TU", "TH"], "action": "preview"},
        )
        assert weekly.status_code == 200, weekly.text
        assert re.search(r"\d+ of 4 visits can be booked", weekly.text)
        days = re.findall(r'<li class="(?:yes|no)"><time[^>]*>(\w+) ', weekly.text)
        assert len(days) == 4
        assert set(days) == {"Tue", "Thu"}
        unsupported = patient.post("/series", {**rule, "freq": "MONTHLY", "action": "preview"})
        assert unsupported.status_code == 400
        assert "choose daily or weekly" in unsupported.text
        whole = patient.post("/series", {**rule, "action": "all_or_nothing"})
        assert whole.status_code == 409
        assert "nothing was booked" in whole.text
        booked = patient.post("/series", {**rule, "action": "book_what_fits"})
        assert booked.status_code == 303
        series_path = booked.headers["location"].split("?", 1)[0]
        view = patient.get(booked.headers["location"])
        assert view.status_code == 200
        assert view.text.count('class="card" id="occurrence-') == fitting
        occurrence = re.findall(r'name="appointment_id" value="([^"]+)"', view.text)
        assert len(occurrence) == fitting
        mine = patient.get("/appointments")
        assert f'href="{series_path}#occurrence-' in mine.text
        # Cancel the second and the following ones: only the first stays open.
        cancelled = patient.post(
            f"{series_path}/cancel",
            {
                "appointment_id": occurrence[1],
                "scope": "this_and_following",
                "reason": "course ended",
            },
        )
        assert cancelled.status_code == 303
        after = patient.get(series_path)
        assert after.text.count("status-cancelled") == fitting - 1
        assert after.text.count("status-pending") == 1
