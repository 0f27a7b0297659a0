"""What an appointment's id tells someone who is no party to it: nothing.

For a patient or a doctor, someone else's appointment answers exactly like an id
that does not exist (404, the same body but for the id), on every route that takes
an id, reading or changing, whatever the ``If-Match``. A slot conflict (409) names
only the conflicting appointments the caller is a party to: a patient never learns
the id of another patient's visit, a doctor sees the ids on their own calendar.
Admins see everything.
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

UNKNOWN = "0190d5a2-0000-7000-8000-000000000000"

#: (method, path after /appointments/{id}, body) of every route taking an id.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("GET", ".ics", None),
    ("GET", "/calendar.ics", None),
    ("POST", "/approve", None),
    ("POST", "/reject", {"reason": "No"}),
    ("POST", "/cancel", {"reason": "No"}),
    ("POST", "/check-in", None),
    ("POST", "/complete", None),
    ("POST", "/no-show", None),
    ("POST", "/reschedule", {"starts_at": iso(WEDNESDAY_10)}),
]


async def _call(
    world: ClinicWorld,
    who: str,
    method: str,
    appointment_id: str,
    suffix: str,
    body: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await world.client.request(
        method,
        f"{APPOINTMENTS}/{appointment_id}{suffix}",
        json=body,
        headers={**await world.auth(who), **(headers or {})},
    )


def _anonymised(response: httpx.Response, appointment_id: str) -> dict[str, Any]:
    """The problem with the id asked for (and the request's own id) blanked out."""
    body: dict[str, Any] = response.json()
    body.pop("request_id", None)
    return {
        key: value.replace(appointment_id, "<id>") if isinstance(value, str) else value
        for key, value in body.items()
    }


@pytest.mark.parametrize("outsider", ["other_patient", "other_doctor"])
@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
async def test_someone_elses_appointment_answers_like_an_unknown_id(
    world: ClinicWorld,
    outsider: str,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    foreign = (await world.booked("patient"))["id"]

    as_foreign = await _call(world, outsider, method, foreign, suffix, body)
    as_unknown = await _call(world, outsider, method, UNKNOWN, suffix, body)

    assert_problem(as_foreign, 404, "not-found")
    assert_problem(as_unknown, 404, "not-found")
    assert _anonymised(as_foreign, foreign) == _anonymised(as_unknown, UNKNOWN)
    assert (await world.appointment(foreign))["version"] == 1  # nothing changed


@pytest.mark.parametrize("if_match", ['"1"', '"7"'])
async def test_a_precondition_tells_an_outsider_nothing_either(
    world: ClinicWorld, if_match: str
) -> None:
    """The visibility check comes first: a right or wrong version is still a 404."""
    foreign = (await world.booked("patient"))["id"]
    headers = {"If-Match": if_match}

    response = await _call(world, "other_doctor", "POST", foreign, "/approve", None, headers)

    assert_problem(response, 404, "not-found")


async def test_an_admin_sees_everyone_s_appointments(world: ClinicWorld) -> None:
    booked = await world.booked("patient")
    response = await world.get("admin", f"{APPOINTMENTS}/{booked['id']}")
    assert response.status_code == 200, response.text


# ------------------------------------------------------------------ slot conflicts


async def _two_visits_in_the_way(world: ClinicWorld) -> dict[str, str]:
    """At Wednesday 10:15-10:45 ``other_patient`` with ``doctor`` would overlap two
    visits: ``patient``'s with ``doctor`` (10:00) and ``other_patient``'s own with
    ``other_doctor`` (10:30)."""
    doctors = await world.booked("patient", starts_at=WEDNESDAY_10)
    own = await world.booked("other_patient", doctor="other_doctor", starts_at=WEDNESDAY_10 + VISIT)
    return {"patient's, with the doctor": doctors["id"], "their own": own["id"]}


async def test_a_patient_is_not_told_another_patients_appointment_id(
    world: ClinicWorld,
) -> None:
    visits = await _two_visits_in_the_way(world)
    foreign = visits["patient's, with the doctor"]

    response = await world.book(
        "other_patient",
        starts_at=WEDNESDAY_10 + timedelta(minutes=15),
        ends_at=iso(WEDNESDAY_10 + timedelta(minutes=45)),
    )

    problem = assert_problem(response, 409, "slot-conflict")
    assert problem["conflicting_appointment_ids"] == [visits["their own"]]
    assert foreign not in response.text


async def test_a_slot_taken_by_another_patient_names_no_id(world: ClinicWorld) -> None:
    foreign = (await world.booked("patient", starts_at=WEDNESDAY_10))["id"]

    response = await world.book("other_patient", starts_at=WEDNESDAY_10)

    problem = assert_problem(response, 409, "slot-conflict")
    assert problem["conflicting_appointment_ids"] == []
    assert problem["detail"] == "the requested time overlaps another appointment"
    assert foreign not in response.text


@pytest.mark.parametrize(
    ("who", "told"),
    [
        # Their own calendar's visit; not the patient's visit with a colleague.
        ("doctor", ["patient's, with the doctor"]),
        ("admin", ["patient's, with the doctor", "their own"]),
    ],
)
async def test_staff_and_the_doctor_are_told_what_is_theirs_to_know(
    world: ClinicWorld, who: str, told: list[str]
) -> None:
    visits = await _two_visits_in_the_way(world)

    response = await world.book(
        who,
        patient="other_patient",
        starts_at=WEDNESDAY_10 + timedelta(minutes=15),
        ends_at=iso(WEDNESDAY_10 + timedelta(minutes=45)),
    )

    problem = assert_problem(response, 409, "slot-conflict")
    assert sorted(problem["conflicting_appointment_ids"]) == sorted(visits[n] for n in told)
    for hidden in visits.keys() - set(told):
        assert visits[hidden] not in response.text


async def test_a_reschedule_into_another_patients_visit_names_no_id(
    world: ClinicWorld,
) -> None:
    foreign = (await world.booked("patient", starts_at=WEDNESDAY_10))["id"]
    mine = (await world.booked("other_patient", starts_at=WEDNESDAY_10 + 2 * VISIT))["id"]

    response = await world.act(
        "other_patient", mine, "reschedule", {"starts_at": iso(WEDNESDAY_10)}
    )

    problem = assert_problem(response, 409, "slot-conflict")
    assert problem["conflicting_appointment_ids"] == []
    assert foreign not in response.text


# ------------------------------------------------------------------ the care relationship

PATIENTS = "/api/v1/patients"


async def test_a_doctors_booking_opens_the_patients_record_only_once_accepted(
    world: ClinicWorld,
) -> None:
    """Any doctor may book any patient on their own calendar: that alone must not hand
    them the patient's record. It is a proposal; the record opens when it is accepted."""
    record = f"{PATIENTS}/{world.id('patient')}"
    proposal = await world.booked("doctor", patient="patient")
    assert proposal["status"] == "proposed"

    assert_problem(await world.get("doctor", record), 403, "forbidden")

    accepted = await world.act("patient", proposal["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    opened = await world.get("doctor", record)
    assert opened.status_code == 200, opened.text
    assert opened.json()["id"] == world.id("patient")


async def test_a_declined_proposal_opens_nothing(world: ClinicWorld) -> None:
    record = f"{PATIENTS}/{world.id('patient')}"
    proposal = await world.booked("doctor", patient="patient")

    declined = await world.act("patient", proposal["id"], "decline")

    assert declined.status_code == 200, declined.text
    assert_problem(await world.get("doctor", record), 403, "forbidden")
    # Booking the patient again is no way round it either.
    await world.booked("doctor", patient="patient", starts_at=WEDNESDAY_10 + VISIT)
    assert_problem(await world.get("doctor", record), 403, "forbidden")
