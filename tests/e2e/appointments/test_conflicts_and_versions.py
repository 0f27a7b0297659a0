"""Refusals: overlapping bookings (409 with the conflicting ids), stale versions
(If-Match: 412, compared strongly), malformed input. A refused request changes
nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.e2e.harness import APPOINTMENTS, VISIT, WEDNESDAY_10, ClinicWorld, assert_problem, iso


async def test_double_booking_a_doctor_is_refused_with_the_conflicting_id(
    world: ClinicWorld,
) -> None:
    first = await world.booked("patient")
    # Overlapping by a quarter of an hour, another patient, same doctor: refused, and
    # that patient is not told whose visit is in the way (tests/e2e/appointments/
    # test_privacy.py); the doctor, on whose calendar it is, is told its id.
    response = await world.book("other_patient", starts_at=WEDNESDAY_10 + timedelta(minutes=15))
    problem = assert_problem(response, 409, "slot-conflict")
    assert problem["conflicting_appointment_ids"] == []
    response = await world.book(
        "doctor", patient="other_patient", starts_at=WEDNESDAY_10 + timedelta(minutes=15)
    )
    problem = assert_problem(response, 409, "slot-conflict")
    assert problem["conflicting_appointment_ids"] == [first["id"]]
    assert [a["id"] for a in await world.all_appointments()] == [first["id"]]


async def test_touching_slots_do_not_conflict(world: ClinicWorld) -> None:
    await world.booked("patient")
    response = await world.book("other_patient", starts_at=WEDNESDAY_10 + VISIT)
    assert response.status_code == 201, response.text


async def test_double_booking_a_patient_with_two_doctors_is_refused(world: ClinicWorld) -> None:
    first = await world.booked("patient", doctor="doctor")
    response = await world.book("patient", doctor="other_doctor")
    problem = assert_problem(response, 409, "slot-conflict")
    assert problem["conflicting_appointment_ids"] == [first["id"]]


async def test_every_conflicting_appointment_is_listed(world: ClinicWorld) -> None:
    with_doctor = await world.booked("other_patient", doctor="doctor")
    of_patient = await world.booked(
        "patient", doctor="other_doctor", starts_at=WEDNESDAY_10 + VISIT / 2
    )
    # An admin is told every id (the patient would be told only their own visit's).
    response = await world.book("admin", patient="patient", doctor="doctor")
    problem = assert_problem(response, 409, "slot-conflict")
    assert sorted(problem["conflicting_appointment_ids"]) == sorted(
        [with_doctor["id"], of_patient["id"]]
    )


async def test_a_terminal_appointment_frees_its_slot(world: ClinicWorld) -> None:
    first = await world.booked("patient")
    await world.act("doctor", first["id"], "reject", {"reason": "Full"})
    response = await world.book("other_patient")
    assert response.status_code == 201, response.text


async def test_a_stale_if_match_is_refused_and_nothing_changes(world: ClinicWorld) -> None:
    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve", if_match='"1"')  # now version 2
    before = await world.appointment(booked["id"])

    # A failed precondition is a 412 (RFC 9110), not the 409 of slot conflicts.
    response = await world.act("patient", booked["id"], "cancel", {"reason": "x"}, if_match='"1"')
    problem = assert_problem(response, 412, "stale-version")
    assert (problem["expected_version"], problem["actual_version"]) == (1, 2)
    assert await world.appointment(booked["id"]) == before

    # The current ETag goes through.
    response = await world.act("patient", booked["id"], "cancel", {"reason": "x"}, if_match='"2"')
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"3"'


@pytest.mark.parametrize("action", ["approve", "reschedule"])
async def test_a_weak_if_match_never_matches(world: ClinicWorld, action: str) -> None:
    """If-Match compares strongly: W/"1" is refused even though 1 is the version."""
    booked = await world.booked()
    body = {"starts_at": iso(WEDNESDAY_10 + timedelta(hours=2))} if action == "reschedule" else None

    response = await world.act("doctor", booked["id"], action, body, if_match='W/"1"')

    problem = assert_problem(response, 412, "precondition-failed")
    assert "strongly" in problem["detail"]
    assert [a["version"] for a in await world.all_appointments()] == [1]
    response = await world.act("doctor", booked["id"], action, body, if_match='"1"')
    assert response.status_code in (200, 201), response.text


async def test_a_stale_if_match_on_reschedule_books_nothing(world: ClinicWorld) -> None:
    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve")
    response = await world.act(
        "patient",
        booked["id"],
        "reschedule",
        {"starts_at": iso(WEDNESDAY_10 + timedelta(hours=2))},
        if_match='"1"',
    )
    assert_problem(response, 412, "stale-version")
    [only] = await world.all_appointments()
    assert (only["id"], only["status"], only["version"]) == (booked["id"], "approved", 2)


async def test_if_match_star_or_absent_means_any_version(world: ClinicWorld) -> None:
    booked = await world.booked()
    response = await world.act("doctor", booked["id"], "approve", if_match="*")
    assert response.status_code == 200, response.text


async def test_a_malformed_if_match_is_a_bad_request(world: ClinicWorld) -> None:
    booked = await world.booked()
    for value in ("2", '"two"', '"1", "2"'):
        response = await world.act("doctor", booked["id"], "approve", if_match=value)
        problem = assert_problem(response, 400, "invalid-input")
        assert problem["errors"][0]["field"] == "If-Match"
    assert (await world.appointment(booked["id"]))["version"] == 1


async def test_get_carries_the_etag_and_honours_if_none_match(world: ClinicWorld) -> None:
    booked = await world.booked()
    url = f"{APPOINTMENTS}/{booked['id']}"
    response = await world.client.get(url, headers=await world.auth("patient"))
    assert response.headers["etag"] == '"1"'
    headers = {**await world.auth("patient"), "If-None-Match": '"1"'}
    not_modified = await world.client.get(url, headers=headers)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    await world.act("doctor", booked["id"], "approve")
    fresh = await world.client.get(url, headers=headers)
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == '"2"'


async def test_naive_timestamps_are_refused_with_the_field_named(world: ClinicWorld) -> None:
    naive = datetime(2030, 1, 9, 10, 0).isoformat()
    response = await world.client.post(
        APPOINTMENTS,
        json={"doctor_id": world.id("doctor"), "starts_at": naive},
        headers=await world.auth("patient"),
    )
    problem = assert_problem(response, 400, "invalid-input")
    assert problem["errors"] == [{"field": "starts_at", "message": problem["detail"]}]
    assert "offset" in problem["detail"]
    assert await world.all_appointments() == []


async def test_unknown_fields_are_refused(world: ClinicWorld) -> None:
    response = await world.book(colour="blue")
    assert_problem(response, 400, "invalid-request")
    assert await world.all_appointments() == []


async def test_business_rules_are_422_with_their_code(world: ClinicWorld) -> None:
    saturday = WEDNESDAY_10 + timedelta(days=3)
    assert_problem(await world.book(starts_at=saturday), 422, "outside-working-hours")
    soon = world.clock.now() + timedelta(minutes=30)  # 1 h notice required
    assert_problem(await world.book(starts_at=soon), 422, "minimum-notice")
    far = world.clock.now() + timedelta(days=120)
    assert_problem(await world.book(starts_at=far), 422, "booking-horizon")
    assert await world.all_appointments() == []


async def test_unknown_doctor_or_appointment_is_404(world: ClinicWorld) -> None:
    response = await world.client.post(
        APPOINTMENTS,
        json={"doctor_id": world.id("patient"), "starts_at": iso(WEDNESDAY_10)},  # not a doctor
        headers=await world.auth("patient"),
    )
    assert assert_problem(response, 404, "not-found")["entity"] == "doctor"
    unknown = "00000000-0000-0000-0000-000000000007"
    assert_problem(await world.get("admin", f"{APPOINTMENTS}/{unknown}"), 404, "not-found")
    assert_problem(await world.get("admin", f"{APPOINTMENTS}/not-a-uuid"), 404, "not-found")
    assert_problem(await world.act("admin", unknown, "approve"), 404, "not-found")


async def test_anonymous_callers_are_refused(world: ClinicWorld) -> None:
    booked = await world.booked()
    assert_problem(await world.client.get(APPOINTMENTS), 401, "unauthenticated")
    assert_problem(await world.client.get(f"{APPOINTMENTS}/{booked['id']}"), 401, "unauthenticated")
    assert_problem(
        await world.client.post(f"{APPOINTMENTS}/{booked['id']}/approve"), 401, "unauthenticated"
    )
