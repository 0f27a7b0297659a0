"""Recurring series over HTTP, on SQLite and PostgreSQL: the preview's per-occurrence
answer, all-or-nothing against book-what-fits, the cap, DST, reading and cancelling
one occurrence or this-and-following, and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hduce.domain.identity import Role
from tests.e2e.harness import (
    APPOINTMENTS,
    OFFICE_HOURS,
    WEDNESDAY_10,
    ClinicWorld,
    assert_problem,
    iso,
    store_doctor,
)

SERIES = f"{APPOINTMENTS}/series"


async def _post(world: ClinicWorld, path: str, who: str = "patient", **body: Any) -> httpx.Response:
    body.setdefault("doctor_id", world.id("doctor"))
    body.setdefault("starts_at", iso(WEDNESDAY_10))
    return await world.client.post(path, json=body, headers=await world.auth(who))


async def test_preview_says_what_fits_and_why_not_and_books_nothing(world: ClinicWorld) -> None:
    taken = await world.booked("other_patient", starts_at=WEDNESDAY_10 + timedelta(days=1))
    # Wed, Thu (taken), Fri, Sat and Sun (the doctor works Monday to Friday).
    response = await _post(world, f"{SERIES}/preview", rrule="FREQ=DAILY;COUNT=5")
    assert response.status_code == 200, response.text
    plan = response.json()
    assert (plan["fitting"], plan["total"], plan["series_id"]) == (2, 5, None)
    assert [(o["fits"], o["problem"]) for o in plan["occurrences"]] == [
        (True, None),
        (False, "slot-conflict"),
        (True, None),
        (False, "outside-working-hours"),
        (False, "outside-working-hours"),
    ]
    assert plan["occurrences"][1]["detail"] == "the slot is taken"  # not whose visit
    assert plan["occurrences"][2]["starts_at"] == "2030-01-11T10:00:00Z"
    assert [a["id"] for a in await world.all_appointments()] == [taken["id"]]


async def test_all_or_nothing_books_nothing_when_one_occurrence_does_not_fit(
    world: ClinicWorld,
) -> None:
    taken = await world.booked("other_patient", starts_at=WEDNESDAY_10 + timedelta(weeks=2))
    response = await _post(world, SERIES, rrule="FREQ=WEEKLY;COUNT=4")
    problem = assert_problem(response, 409, "series-does-not-fit")
    assert (problem["fitting"], problem["total"]) == (3, 4)
    assert [o["index"] for o in problem["occurrences"] if not o["fits"]] == [2]
    assert "nothing was booked" in problem["detail"]
    assert [a["id"] for a in await world.all_appointments()] == [taken["id"]]


async def test_book_what_fits_books_the_others_and_the_series_lists_them(
    world: ClinicWorld,
) -> None:
    await world.booked("other_patient", starts_at=WEDNESDAY_10 + timedelta(weeks=2))
    response = await _post(world, SERIES, rrule="FREQ=WEEKLY;COUNT=4", mode="book_what_fits")
    assert response.status_code == 201, response.text
    plan = response.json()
    assert response.headers["location"] == f"/api/v1/appointments/series/{plan['series_id']}"
    booked = [o for o in plan["occurrences"] if o["fits"]]
    assert [o["index"] for o in booked] == [0, 1, 3]
    for occurrence in booked:
        appointment = await world.appointment(occurrence["appointment_id"])
        assert appointment["status"] == "pending"
        assert appointment["patient_id"] == world.id("patient")
        assert appointment["starts_at"] == occurrence["starts_at"]

    for who in ("patient", "doctor", "admin"):
        response = await world.get(who, f"{SERIES}/{plan['series_id']}")
        assert response.status_code == 200, response.text
    series = response.json()
    assert series["rule"] == "FREQ=WEEKLY;COUNT=4"
    assert [(o["index"], o["status"]) for o in series["occurrences"]] == [
        (0, "pending"),
        (1, "pending"),
        (3, "pending"),
    ]
    response = await world.get("other_patient", f"{SERIES}/{plan['series_id']}")
    assert_problem(response, 404, "not-found")


async def test_cancel_one_occurrence_then_this_and_following(world: ClinicWorld) -> None:
    response = await _post(world, SERIES, rrule="FREQ=WEEKLY;COUNT=4;BYDAY=WE")
    assert response.status_code == 201, response.text
    plan = response.json()
    ids = [o["appointment_id"] for o in plan["occurrences"]]
    path = f"{SERIES}/{plan['series_id']}/cancel"
    headers = await world.auth("patient")

    response = await world.client.post(
        path, json={"appointment_id": ids[1], "scope": "this", "reason": "Away"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert [o["status"] for o in response.json()["occurrences"]] == [
        "pending",
        "cancelled",
        "pending",
        "pending",
    ]
    body = {"appointment_id": ids[2], "scope": "this_and_following", "reason": "Better now"}
    response = await world.client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert [o["status"] for o in response.json()["occurrences"]] == [
        "pending",
        "cancelled",
        "cancelled",
        "cancelled",
    ]
    cancelled = await world.appointment(ids[3])
    assert cancelled["cancellation_reason"] == "Better now"
    # Cancelling the already-cancelled one again is the state machine's refusal.
    body = {"appointment_id": ids[1], "scope": "this", "reason": "Again"}
    response = await world.client.post(path, json=body, headers=headers)
    assert_problem(response, 422, "illegal-transition")
    # A stranger cannot touch it (nor learn it exists).
    response = await world.client.post(path, json=body, headers=await world.auth("other_patient"))
    assert_problem(response, 404, "not-found")


async def test_the_doctor_proposes_a_series_and_the_patient_declines_the_rest(
    world: ClinicWorld,
) -> None:
    response = await _post(
        world,
        SERIES,
        "doctor",
        rrule="FREQ=DAILY;INTERVAL=2;COUNT=2",
        patient_id=world.id("patient"),
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    first = plan["occurrences"][0]["appointment_id"]
    assert (await world.appointment(first))["status"] == "proposed"
    response = await world.client.post(
        f"{SERIES}/{plan['series_id']}/cancel",
        json={"appointment_id": first, "scope": "this_and_following", "reason": "No thanks"},
        headers=await world.auth("patient"),
    )
    assert response.status_code == 200, response.text
    assert [o["status"] for o in response.json()["occurrences"]] == ["rejected", "rejected"]


async def test_refusals_cap_rule_and_access(world: ClinicWorld) -> None:
    response = await _post(world, f"{SERIES}/preview", rrule="FREQ=WEEKLY;COUNT=53")
    problem = assert_problem(response, 422, "series-too-long")
    assert "at most 52" in problem["detail"]
    response = await _post(world, SERIES, rrule="FREQ=DAILY;UNTIL=20300601")
    assert_problem(response, 422, "series-too-long")

    response = await _post(world, SERIES, rrule="FREQ=MONTHLY;COUNT=3")
    problem = assert_problem(response, 400, "invalid-input")
    assert problem["errors"][0]["field"] == "rrule"
    response = await _post(world, SERIES, rrule="FREQ=WEEKLY;COUNT=2;BYSETPOS=1")
    assert "BYSETPOS" in assert_problem(response, 400, "invalid-input")["detail"]

    response = await _post(
        world, SERIES, rrule="FREQ=WEEKLY;COUNT=2", patient_id=world.id("other_patient")
    )
    assert_problem(response, 403, "forbidden")
    response = await _post(world, SERIES, rrule="FREQ=WEEKLY;COUNT=2", unknown=1)
    assert response.status_code == 400
    response = await world.client.post(
        SERIES,
        json={
            "doctor_id": world.id("doctor"),
            "starts_at": iso(WEDNESDAY_10),
            "rrule": "FREQ=WEEKLY;COUNT=2",
        },
    )
    assert response.status_code == 401
    assert await world.all_appointments() == []


async def test_a_weekly_series_keeps_the_doctors_wall_clock_across_dst(
    world: ClinicWorld,
) -> None:
    user = await world.add_user("madrid_doctor", Role.DOCTOR, timezone="Europe/Madrid")
    assert world.specialty_id is not None
    await store_doctor(world.container, user, specialty_id=world.specialty_id, hours=OFFICE_HOURS)
    # Tuesdays at 09:00 in Madrid; summer time starts on Sunday 2030-03-31.
    world.clock.set(datetime(2030, 3, 1, 8, tzinfo=UTC))
    response = await _post(
        world,
        SERIES,
        doctor_id=world.id("madrid_doctor"),
        starts_at="2030-03-19T09:00:00+01:00",
        rrule="FREQ=WEEKLY;COUNT=3",
    )
    assert response.status_code == 201, response.text
    occurrences = response.json()["occurrences"]
    assert [o["starts_at"] for o in occurrences] == [
        "2030-03-19T08:00:00Z",
        "2030-03-26T08:00:00Z",
        "2030-04-02T07:00:00Z",
    ]
    assert {o["local_start"][11:] for o in occurrences} == {"09:00:00"}


async def test_reschedule_this_and_following_moves_them_by_the_same_wall_clock_shift(
    world: ClinicWorld,
) -> None:
    response = await _post(world, SERIES, rrule="FREQ=WEEKLY;COUNT=3")
    assert response.status_code == 201, response.text
    plan = response.json()
    ids = [o["appointment_id"] for o in plan["occurrences"]]
    path = f"{SERIES}/{plan['series_id']}/reschedule"
    headers = await world.auth("patient")
    # The second and third move two hours later.
    body = {
        "appointment_id": ids[1],
        "starts_at": iso(WEDNESDAY_10 + timedelta(weeks=1, hours=2)),
        "scope": "this_and_following",
    }
    response = await world.client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    occurrences = response.json()["occurrences"]
    assert [o["starts_at"] for o in occurrences] == [
        "2030-01-09T10:00:00Z",
        "2030-01-16T12:00:00Z",
        "2030-01-23T12:00:00Z",
    ]
    assert occurrences[0]["appointment_id"] == ids[0]
    assert {o["appointment_id"] for o in occurrences[1:]}.isdisjoint(ids)
    old = await world.appointment(ids[2])
    assert old["status"] == "cancelled"
    new = await world.appointment(occurrences[2]["appointment_id"])
    assert (new["status"], new["replaces"]) == ("pending", ids[2])

    # Moving the first onto a taken slot is refused and moves nothing.
    await world.booked("other_patient", starts_at=WEDNESDAY_10 + timedelta(hours=4))
    body = {
        "appointment_id": ids[0],
        "starts_at": iso(WEDNESDAY_10 + timedelta(hours=4)),
        "scope": "this_and_following",
    }
    response = await world.client.post(path, json=body, headers=headers)
    assert_problem(response, 409, "slot-conflict")
    response = await world.get("patient", f"{SERIES}/{plan['series_id']}")
    assert [o["starts_at"] for o in response.json()["occurrences"]] == [
        o["starts_at"] for o in occurrences
    ]


async def test_a_plain_reschedule_of_an_occurrence_keeps_it_in_the_series(
    world: ClinicWorld,
) -> None:
    response = await _post(world, SERIES, rrule="FREQ=WEEKLY;COUNT=3")
    assert response.status_code == 201, response.text
    plan = response.json()
    ids = [o["appointment_id"] for o in plan["occurrences"]]

    # The appointment's own /reschedule, not the series'.
    moved = await world.act(
        "patient",
        ids[1],
        "reschedule",
        {"starts_at": iso(WEDNESDAY_10 + timedelta(weeks=1, hours=3))},
    )
    assert moved.status_code == 201, moved.text
    replacement = moved.json()
    assert replacement["replaces"] == ids[1]

    series = await world.get("patient", f"{SERIES}/{plan['series_id']}")
    assert series.status_code == 200, series.text
    occurrences = series.json()["occurrences"]
    assert [o["appointment_id"] for o in occurrences] == [ids[0], replacement["id"], ids[2]]
    assert occurrences[1]["starts_at"] == "2030-01-16T13:00:00Z"
    assert occurrences[1]["status"] == "pending"

    # Still an occurrence: cancelling it through the series works on the replacement.
    cancelled = await world.client.post(
        f"{SERIES}/{plan['series_id']}/cancel",
        json={"appointment_id": replacement["id"], "scope": "this", "reason": "Away"},
        headers=await world.auth("patient"),
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [o["status"] for o in cancelled.json()["occurrences"]] == [
        "pending",
        "cancelled",
        "pending",
    ]
