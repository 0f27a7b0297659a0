"""Visit types over HTTP, on SQLite and on PostgreSQL + Redis: a doctor manages them,
free slots leave room for their buffers, a booking names one and keeps its own length
and buffers, horizon and notice refuse with problem+json (docs/decisions/0020)."""

from __future__ import annotations

from typing import Any

from tests.e2e.clinic.conftest import API, Clinic
from tests.e2e.harness import assert_problem
from tests.metrics import scraped_sum

WEEKDAYS = {
    day: [{"start": "08:00", "end": "18:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
FIRST_VISIT = {
    "name": "First visit",
    "duration_minutes": 40,
    "buffer_before_minutes": 10,
    "buffer_after_minutes": 5,
    "booking_horizon_days": 30,
    "minimum_notice_minutes": 1440,
}
TUESDAY = "2030-01-08"  # NOW is Monday 2030-01-07 08:00 UTC


async def _refused_bookings(clinic: Clinic) -> float:
    scrape = await clinic.client.get("/metrics")
    assert scrape.status_code == 200
    return scraped_sum(scrape.text, "hduce_bookings_total", outcome="refused")


async def _book(clinic: Clinic, who: dict[str, Any], doctor: dict[str, Any], **body: Any) -> Any:
    return await clinic.client.post(
        f"{API}/appointments", json={"doctor_id": doctor["id"], **body}, headers=who["headers"]
    )


async def test_a_doctor_manages_visit_types_and_others_may_only_read(clinic: Clinic) -> None:
    doctor, other_doctor = await clinic.doctor(timezone="UTC"), await clinic.doctor()
    patient = await clinic.patient()
    url = f"{API}/doctors/{doctor['id']}/visit-types"

    created = await clinic.client.post(url, json=FIRST_VISIT, headers=doctor["headers"])
    assert created.status_code == 201, created.text
    kind = created.json()
    assert {key: kind[key] for key in FIRST_VISIT} == FIRST_VISIT
    assert kind["doctor_id"] == doctor["id"] and kind["version"] == 1

    follow_up = {"name": "Follow-up", "duration_minutes": 20}
    by_admin = await clinic.client.post(url, json=follow_up, headers=clinic.admin)
    assert by_admin.status_code == 201, by_admin.text
    assert by_admin.json()["buffer_before_minutes"] == 0
    assert by_admin.json()["booking_horizon_days"] == 90

    listed = await clinic.client.get(url)  # public
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json()] == ["First visit", "Follow-up"]

    for stranger in (other_doctor, patient):
        refused = await clinic.client.post(url, json=FIRST_VISIT, headers=stranger["headers"])
        assert refused.status_code == 403, refused.text
    too_short = await clinic.client.post(
        url, json={**FIRST_VISIT, "duration_minutes": 3}, headers=doctor["headers"]
    )
    assert_problem(too_short, 400, "invalid-request")
    unknown_field = await clinic.client.post(
        url, json={**FIRST_VISIT, "colour": "red"}, headers=doctor["headers"]
    )
    assert unknown_field.status_code == 400

    changed = await clinic.client.put(
        f"{url}/{kind['id']}",
        json={**FIRST_VISIT, "duration_minutes": 60},
        headers=doctor["headers"],
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["duration_minutes"], changed.json()["version"]) == (60, 2)
    # Another doctor's path does not reach this doctor's type.
    elsewhere = await clinic.client.put(
        f"{API}/doctors/{other_doctor['id']}/visit-types/{kind['id']}",
        json=FIRST_VISIT,
        headers=other_doctor["headers"],
    )
    assert_problem(elsewhere, 404, "not-found")

    deleted = await clinic.client.delete(f"{url}/{kind['id']}", headers=doctor["headers"])
    assert deleted.status_code == 204
    again = await clinic.client.delete(f"{url}/{kind['id']}", headers=doctor["headers"])
    assert_problem(again, 404, "not-found")
    assert [t["name"] for t in (await clinic.client.get(url)).json()] == ["Follow-up"]


async def test_slots_and_bookings_honour_the_buffers(clinic: Clinic) -> None:
    doctor = await clinic.doctor(timezone="UTC", visit_minutes=30)
    await clinic.set_hours(doctor, WEEKDAYS)
    first, second = await clinic.patient(), await clinic.patient()
    url = f"{API}/doctors/{doctor['id']}/visit-types"
    kind = (await clinic.client.post(url, json=FIRST_VISIT, headers=doctor["headers"])).json()

    slots = await clinic.client.get(
        f"{API}/doctors/{doctor['id']}/slots",
        params={"from": TUESDAY, "to": TUESDAY, "visit_type_id": kind["id"]},
    )
    assert slots.status_code == 200, slots.text
    starts = [s["starts_at"] for s in slots.json()]
    # 40 minutes each, stepping by 10 + 40 + 5: neighbours' buffers never collide.
    assert starts[:3] == ["2030-01-08T08:00:00Z", "2030-01-08T08:55:00Z", "2030-01-08T09:50:00Z"]
    assert all(s["local_ends_at"] for s in slots.json())

    booked = await _book(
        clinic, first, doctor, starts_at="2030-01-08T09:00:00Z", visit_type_id=kind["id"]
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()
    assert visit["ends_at"] == "2030-01-08T09:40:00Z"
    assert (
        visit["visit_type_id"],
        visit["buffer_before_minutes"],
        visit["buffer_after_minutes"],
    ) == (
        kind["id"],
        10,
        5,
    )

    # A plain 30-minute visit may not start inside the 5 minutes after, nor end inside
    # the 10 minutes before; it may touch the buffered range.
    in_buffer_after = await _book(clinic, second, doctor, starts_at="2030-01-08T09:40:00Z")
    assert_problem(in_buffer_after, 409, "slot-conflict")
    in_buffer_before = await _book(clinic, second, doctor, starts_at="2030-01-08T08:25:00Z")
    assert_problem(in_buffer_before, 409, "slot-conflict")
    touching = await _book(clinic, second, doctor, starts_at="2030-01-08T09:45:00Z")
    assert touching.status_code == 201, touching.text

    # Slots of the type around the booking leave its buffers alone.
    after = await clinic.client.get(
        f"{API}/doctors/{doctor['id']}/slots",
        params={"from": TUESDAY, "to": TUESDAY, "visit_type_id": kind["id"]},
    )
    taken = {s["starts_at"] for s in after.json()}
    assert "2030-01-08T08:55:00Z" not in taken and "2030-01-08T09:50:00Z" not in taken
    assert "2030-01-08T08:00:00Z" in taken

    # ends_at is the type's to set.
    with_end = await _book(
        clinic,
        second,
        doctor,
        starts_at="2030-01-09T09:00:00Z",
        ends_at="2030-01-09T10:00:00Z",
        visit_type_id=kind["id"],
    )
    assert_problem(with_end, 400, "invalid-input")

    # The type changes: the booking keeps its length and buffers.
    longer = {**FIRST_VISIT, "duration_minutes": 90, "buffer_after_minutes": 60}
    changed = await clinic.client.put(f"{url}/{kind['id']}", json=longer, headers=doctor["headers"])
    assert changed.status_code == 200, changed.text
    deleted = await clinic.client.delete(f"{url}/{kind['id']}", headers=doctor["headers"])
    assert deleted.status_code == 204
    stored = await clinic.client.get(f"{API}/appointments/{visit['id']}", headers=first["headers"])
    assert stored.status_code == 200, stored.text
    assert stored.json()["ends_at"] == "2030-01-08T09:40:00Z"
    assert (stored.json()["buffer_before_minutes"], stored.json()["buffer_after_minutes"]) == (
        10,
        5,
    )
    gone = await _book(
        clinic, second, doctor, starts_at="2030-01-10T09:00:00Z", visit_type_id=kind["id"]
    )
    assert_problem(gone, 404, "not-found")


async def test_horizon_and_notice_are_refused_with_clear_problems(clinic: Clinic) -> None:
    doctor = await clinic.doctor(timezone="UTC")
    await clinic.set_hours(doctor, WEEKDAYS)
    patient = await clinic.patient()
    kind = (
        await clinic.client.post(
            f"{API}/doctors/{doctor['id']}/visit-types", json=FIRST_VISIT, headers=doctor["headers"]
        )
    ).json()
    refused_before = await _refused_bookings(clinic)

    too_soon = await _book(
        clinic, patient, doctor, starts_at="2030-01-07T15:00:00Z", visit_type_id=kind["id"]
    )
    body = assert_problem(too_soon, 422, "minimum-notice")
    assert body["detail"] == "bookings need 1440 minutes notice"
    too_far = await _book(
        clinic, patient, doctor, starts_at="2030-02-12T09:00:00Z", visit_type_id=kind["id"]
    )
    body = assert_problem(too_far, 422, "booking-horizon")
    assert body["detail"] == "bookings open 30 days ahead at most"
    assert await _refused_bookings(clinic) == refused_before + 2

    # The same times without the type follow the clinic's rules (1 h notice, 90 days).
    plain = await _book(clinic, patient, doctor, starts_at="2030-01-07T15:00:00Z")
    assert plain.status_code == 201, plain.text
    # Free slots of the type start after its notice and end at its horizon.
    slots = await clinic.client.get(
        f"{API}/doctors/{doctor['id']}/slots",
        params={"from": "2030-01-07", "to": "2030-01-08", "visit_type_id": kind["id"]},
    )
    assert slots.status_code == 200, slots.text
    assert slots.json() and all(s["starts_at"] >= "2030-01-08T08:00:00Z" for s in slots.json())
