"""Every path of the appointment state machine, driven through HTTP only.

Each test walks one life from booking to its end, checking at every step the
status, the version (also the ``ETag``) and the history, and that what a later
``GET`` returns is what the transition answered.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.harness import (
    APPOINTMENTS,
    VISIT,
    WEDNESDAY_10,
    ClinicWorld,
    assert_problem,
    iso,
)


def changed(response: httpx.Response, status: str, version: int) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["version"] == version
    assert response.headers["etag"] == f'"{version}"'
    return body


def steps(appointment: dict[str, Any]) -> list[tuple[str | None, str, str, str | None]]:
    return [
        (h["from_status"], h["to_status"], h["actor_role"], h["reason"])
        for h in appointment["history"]
    ]


async def test_requested_approved_checked_in_completed(world: ClinicWorld) -> None:
    response = await world.book(reason="Persistent cough")
    booked = changed(response, "pending", 1)
    assert response.headers["location"] == f"{APPOINTMENTS}/{booked['id']}"
    assert booked["patient_id"] == world.id("patient")
    assert booked["doctor_id"] == world.id("doctor")
    assert booked["starts_at"] == iso(WEDNESDAY_10)
    assert booked["ends_at"] == iso(WEDNESDAY_10 + VISIT)  # the doctor's visit length
    assert booked["reason"] == "Persistent cough"
    appointment_id = booked["id"]

    changed(await world.act("doctor", appointment_id, "approve", if_match='"1"'), "approved", 2)

    world.clock.set(WEDNESDAY_10 - timedelta(minutes=10))  # the check-in window is open
    changed(await world.act("doctor", appointment_id, "check-in", if_match='"2"'), "checked_in", 3)

    world.clock.set(WEDNESDAY_10 + timedelta(minutes=25))
    completed = changed(
        await world.act(
            "doctor",
            appointment_id,
            "complete",
            {"notes": "Rest; review in 2 weeks"},
            if_match='"3"',
        ),
        "completed",
        4,
    )
    assert completed["doctor_notes"] == "Rest; review in 2 weeks"
    assert steps(completed) == [
        (None, "pending", "patient", None),
        ("pending", "approved", "doctor", None),
        ("approved", "checked_in", "doctor", None),
        ("checked_in", "completed", "doctor", None),
    ]
    # Both parties see the same record, notes included.
    seen_by_patient = await world.appointment(appointment_id, who="patient")
    assert seen_by_patient == completed


async def test_approved_visit_completed_without_check_in_and_without_a_body(
    world: ClinicWorld,
) -> None:
    # Booked approved by an admin (a doctor's own booking is a proposal now: below).
    booked = await world.booked("admin", patient="patient", approve=True)
    assert booked["status"] == "approved" and booked["version"] == 1
    world.clock.set(WEDNESDAY_10 + timedelta(minutes=5))
    response = await world.client.post(
        f"{APPOINTMENTS}/{booked['id']}/complete", headers=await world.auth("doctor")
    )
    completed = changed(response, "completed", 2)
    assert completed["doctor_notes"] is None


async def test_proposed_by_the_doctor_accepted_by_the_patient_then_completed(
    world: ClinicWorld,
) -> None:
    # The doctor's own booking is a proposal (it used to be approved at once).
    booked = await world.booked("doctor", patient="patient")
    assert booked["status"] == "proposed" and booked["version"] == 1
    accepted = changed(
        await world.act("patient", booked["id"], "accept", if_match='"1"'), "approved", 2
    )
    assert steps(accepted) == [
        (None, "proposed", "doctor", None),
        ("proposed", "approved", "patient", None),
    ]
    world.clock.set(WEDNESDAY_10 + timedelta(minutes=5))
    response = await world.client.post(
        f"{APPOINTMENTS}/{booked['id']}/complete", headers=await world.auth("doctor")
    )
    completed = changed(response, "completed", 3)
    assert completed["doctor_notes"] is None


async def test_a_proposal_declined_by_the_patient_or_withdrawn_by_the_doctor(
    world: ClinicWorld,
) -> None:
    declined = await world.booked("doctor", patient="patient")
    # Only the patient answers (or an admin for them): the doctor cannot, nor cancel for them.
    assert_problem(await world.act("doctor", declined["id"], "accept"), 422, "illegal-transition")
    assert_problem(
        await world.act("patient", declined["id"], "cancel", {"reason": "no"}),
        422,
        "illegal-transition",
    )
    answer = await world.act("patient", declined["id"], "decline", {"reason": "Away that week"})
    rejected = changed(answer, "rejected", 2)
    assert rejected["rejection_reason"] == "Away that week"
    # Without a body too, and the doctor may withdraw a proposal instead.
    silent = await world.booked("doctor", patient="patient", starts_at=WEDNESDAY_10 + VISIT)
    changed(
        await world.client.post(
            f"{APPOINTMENTS}/{silent['id']}/decline", headers=await world.auth("patient")
        ),
        "rejected",
        2,
    )
    withdrawn = await world.booked("doctor", patient="other_patient", starts_at=WEDNESDAY_10)
    gone = changed(
        await world.act("doctor", withdrawn["id"], "cancel", {"reason": "On leave"}), "cancelled", 2
    )
    assert gone["cancelled_by"] == "doctor"


async def test_a_patient_cannot_complete_nor_check_in_their_visit(world: ClinicWorld) -> None:
    booked = await world.booked("admin", patient="patient", approve=True)
    world.clock.set(WEDNESDAY_10 + timedelta(minutes=5))
    assert_problem(await world.act("patient", booked["id"], "complete"), 422, "illegal-transition")
    assert_problem(await world.act("patient", booked["id"], "check-in"), 422, "illegal-transition")
    assert (await world.appointment(booked["id"]))["status"] == "approved"


async def test_requested_then_rejected_with_a_reason(world: ClinicWorld) -> None:
    booked = await world.booked()
    # A reason is required: nothing changes without one.
    assert_problem(
        await world.act("doctor", booked["id"], "reject", {"reason": ""}), 400, "invalid-request"
    )
    assert_problem(await world.act("doctor", booked["id"], "reject", {}), 400, "invalid-request")
    rejected = changed(
        await world.act("doctor", booked["id"], "reject", {"reason": "Not my specialty"}),
        "rejected",
        2,
    )
    assert rejected["rejection_reason"] == "Not my specialty"
    assert steps(rejected)[-1] == ("pending", "rejected", "doctor", "Not my specialty")
    # Terminal: nothing moves it any more.
    assert_problem(await world.act("doctor", booked["id"], "approve"), 422, "illegal-transition")


async def test_another_doctor_can_neither_see_nor_approve(world: ClinicWorld) -> None:
    booked = await world.booked()
    # Not a party: the appointment is missing to them (404, as an unknown id), not 403.
    assert_problem(await world.act("other_doctor", booked["id"], "approve"), 404, "not-found")
    response = await world.get("other_doctor", f"{APPOINTMENTS}/{booked['id']}")
    assert_problem(response, 404, "not-found")
    assert (await world.appointment(booked["id"]))["version"] == 1


@pytest.mark.parametrize(
    ("who", "approved_first"),
    [("patient", False), ("patient", True), ("doctor", True), ("admin", False), ("admin", True)],
)
async def test_cancelled_by_each_party(world: ClinicWorld, who: str, approved_first: bool) -> None:
    booked = await world.booked()
    version = 1
    if approved_first:
        changed(await world.act("doctor", booked["id"], "approve"), "approved", 2)
        version = 2
    cancelled = changed(
        await world.act(who, booked["id"], "cancel", {"reason": "Cannot make it"}),
        "cancelled",
        version + 1,
    )
    assert cancelled["cancelled_by"] == who
    assert cancelled["cancellation_reason"] == "Cannot make it"
    assert steps(cancelled)[-1][1:] == ("cancelled", who, "Cannot make it")


async def test_a_patient_cannot_cancel_an_approved_visit_within_the_cutoff(
    world: ClinicWorld,
) -> None:
    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve")
    world.clock.set(WEDNESDAY_10 - timedelta(hours=23))  # the cutoff is 24 h
    response = await world.act("patient", booked["id"], "cancel", {"reason": "Late"})
    assert_problem(response, 422, "illegal-transition")
    # The doctor still may.
    changed(await world.act("doctor", booked["id"], "cancel", {"reason": "Sick"}), "cancelled", 3)


async def test_approved_then_no_show_after_the_grace_period(world: ClinicWorld) -> None:
    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve")
    world.clock.set(WEDNESDAY_10 + timedelta(minutes=10))  # grace is 15 minutes
    assert_problem(await world.act("doctor", booked["id"], "no-show"), 422, "illegal-transition")
    world.clock.set(WEDNESDAY_10 + timedelta(minutes=16))
    missed = changed(
        await world.act("doctor", booked["id"], "no-show", if_match='"2"'), "no_show", 3
    )
    assert steps(missed)[-1] == ("approved", "no_show", "doctor", None)


@pytest.mark.parametrize("from_status", ["pending", "approved"])
async def test_entered_in_error_by_an_admin_only(world: ClinicWorld, from_status: str) -> None:
    booked = await world.booked()
    if from_status == "approved":
        await world.act("doctor", booked["id"], "approve")
    version = 1 if from_status == "pending" else 2
    body = {"reason": "Booked for the wrong patient"}
    assert_problem(
        await world.act("doctor", booked["id"], "entered-in-error", body), 403, "forbidden"
    )
    assert_problem(
        await world.act("patient", booked["id"], "entered-in-error", body), 403, "forbidden"
    )
    voided = changed(
        await world.act("admin", booked["id"], "entered-in-error", body),
        "entered_in_error",
        version + 1,
    )
    assert steps(voided)[-1] == (
        from_status,
        "entered_in_error",
        "admin",
        "Booked for the wrong patient",
    )


async def test_rescheduled_by_the_patient_goes_back_to_pending(world: ClinicWorld) -> None:
    booked = await world.booked(reason="Check-up")
    await world.act("doctor", booked["id"], "approve")
    new_start = WEDNESDAY_10 + timedelta(days=1, hours=2)
    response = await world.act(
        "patient", booked["id"], "reschedule", {"starts_at": iso(new_start)}, if_match='"2"'
    )
    replacement = changed(response, "pending", 1)
    assert response.status_code == 201
    assert response.headers["location"] == f"{APPOINTMENTS}/{replacement['id']}"
    assert replacement["id"] != booked["id"]
    assert replacement["replaces"] == booked["id"]
    assert replacement["starts_at"] == iso(new_start)
    assert replacement["ends_at"] == iso(new_start + VISIT)  # keeps the visit's length
    assert replacement["reason"] == "Check-up"

    old = await world.appointment(booked["id"])
    assert old["status"] == "cancelled"
    assert old["cancellation_reason"] == "rescheduled"
    assert old["cancelled_by"] == "patient"
    assert old["version"] == 3


async def test_rescheduled_by_the_doctor_stays_approved_and_frees_the_old_slot(
    world: ClinicWorld,
) -> None:
    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve")
    new_start = WEDNESDAY_10 + timedelta(minutes=15)  # overlapping its own old slot is fine
    response = await world.act(
        "doctor",
        booked["id"],
        "reschedule",
        {"starts_at": iso(new_start), "ends_at": iso(new_start + timedelta(minutes=45))},
    )
    replacement = changed(response, "approved", 1)
    assert replacement["ends_at"] == iso(new_start + timedelta(minutes=45))
    assert (await world.appointment(booked["id"]))["status"] == "cancelled"
    # The old slot's first quarter is free again: someone else may book it.
    other = await world.book("other_patient", starts_at=WEDNESDAY_10, ends_at=iso(new_start))
    assert other.status_code == 201, other.text


async def test_reschedule_refused_keeps_the_original(world: ClinicWorld) -> None:
    booked = await world.booked()
    saturday = WEDNESDAY_10 + timedelta(days=3)
    response = await world.act("patient", booked["id"], "reschedule", {"starts_at": iso(saturday)})
    assert_problem(response, 422, "outside-working-hours")
    current = await world.appointment(booked["id"])
    assert (current["status"], current["version"]) == ("pending", 1)
    assert len(await world.all_appointments()) == 1


async def test_an_admin_books_for_a_patient_pending_or_approved(world: ClinicWorld) -> None:
    pending = await world.booked("admin", patient="patient")
    assert pending["status"] == "pending"
    approved = await world.booked(
        "admin", patient="other_patient", starts_at=WEDNESDAY_10 + VISIT, approve=True
    )
    assert approved["status"] == "approved"
    assert steps(approved) == [(None, "approved", "admin", None)]


async def test_a_patient_may_not_book_for_someone_else(world: ClinicWorld) -> None:
    response = await world.book("patient", patient="other_patient")
    assert_problem(response, 403, "forbidden")
    assert await world.all_appointments() == []
