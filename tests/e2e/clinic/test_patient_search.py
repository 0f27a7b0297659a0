"""``GET /api/v1/patients`` over HTTP on both backends: staff find the patients they may
see: admins all of them, a doctor only those in their care (never another doctor's
patient, nor one they merely proposed a visit to)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.domain.identity import Role
from tests.e2e.harness import API, WEDNESDAY_10, ClinicWorld, assert_problem

PATIENTS = f"{API}/patients"


async def found(world: ClinicWorld, who: str, **params: object) -> list[str]:
    response = await world.get(who, PATIENTS, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"]) or body["limit"] < body["total"]
    return [item["id"] for item in body["items"]]


@pytest.fixture
async def clinic(world: ClinicWorld) -> ClinicWorld:
    """``patient`` booked with ``doctor``; ``other_patient`` with ``other_doctor``; a
    third patient whom ``doctor`` only proposed a visit to (no care yet)."""
    await world.add_user("zoe_proposed", Role.PATIENT)
    await world.booked("patient")
    await world.booked("other_patient", doctor="other_doctor")
    proposal = await world.book(
        "doctor", patient="zoe_proposed", starts_at=WEDNESDAY_10 + timedelta(hours=2)
    )
    assert proposal.status_code == 201, proposal.text
    return world


async def test_admins_find_every_patient(clinic: ClinicWorld) -> None:
    everyone = {clinic.id(p) for p in ("patient", "other_patient", "zoe_proposed")}
    assert set(await found(clinic, "admin")) == everyone
    email = clinic.people["other_patient"].email
    assert await found(clinic, "admin", search=email.upper()) == [clinic.id("other_patient")]
    assert await found(clinic, "admin", search="zoe") == [clinic.id("zoe_proposed")]
    # Doctors and admins are no patients, whatever their names.
    assert await found(clinic, "admin", search="doctor") == []


async def test_a_doctor_finds_only_the_patients_in_their_care(clinic: ClinicWorld) -> None:
    assert await found(clinic, "doctor") == [clinic.id("patient")]
    assert await found(clinic, "other_doctor") == [clinic.id("other_patient")]
    # Searching for another doctor's patient by exact email finds nothing.
    other = clinic.people["other_patient"].email
    assert await found(clinic, "doctor", search=other) == []
    # A proposal alone is no care relationship; accepting it is.
    assert clinic.id("zoe_proposed") not in await found(clinic, "doctor", search="zoe")


async def test_an_accepted_proposal_opens_the_search_too(clinic: ClinicWorld) -> None:
    listed = await clinic.get("zoe_proposed", f"{API}/appointments")
    [proposal] = listed.json()["items"]
    accepted = await clinic.act("zoe_proposed", proposal["id"], "accept")
    assert accepted.status_code == 200, accepted.text

    assert await found(clinic, "doctor", search="zoe") == [clinic.id("zoe_proposed")]


async def test_paged(clinic: ClinicWorld) -> None:
    first = await clinic.get("admin", PATIENTS, limit=2)
    second = await clinic.get("admin", PATIENTS, limit=2, offset=2)
    assert first.json()["total"] == 3 and len(first.json()["items"]) == 2
    assert len(second.json()["items"]) == 1
    ids = [i["id"] for i in first.json()["items"] + second.json()["items"]]
    assert len(set(ids)) == 3


async def test_patients_and_strangers_search_nobody(clinic: ClinicWorld) -> None:
    assert_problem(await clinic.get("patient", PATIENTS), 403, "forbidden")
    assert_problem(await clinic.client.get(PATIENTS), 401, "unauthenticated")
    response = await clinic.get("admin", PATIENTS, search="a\x01b")
    assert response.status_code == 400
