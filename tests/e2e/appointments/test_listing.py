"""``GET /appointments``: who sees what, filters, and pages that neither skip nor repeat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.e2e.harness import APPOINTMENTS, VISIT, WEDNESDAY_10, ClinicWorld, assert_problem, iso


async def listed(world: ClinicWorld, who: str, **params: Any) -> dict[str, Any]:
    response = await world.get(who, APPOINTMENTS, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


async def test_each_role_sees_its_own(world: ClinicWorld) -> None:
    mine = await world.booked("patient", doctor="doctor")
    theirs = await world.booked("other_patient", doctor="other_doctor")

    assert ids(await listed(world, "patient")) == [mine["id"]]
    assert ids(await listed(world, "other_patient")) == [theirs["id"]]
    assert ids(await listed(world, "doctor")) == [mine["id"]]
    assert ids(await listed(world, "other_doctor")) == [theirs["id"]]
    assert sorted(ids(await listed(world, "admin"))) == sorted([mine["id"], theirs["id"]])


async def test_asking_for_someone_elses_list_is_forbidden(world: ClinicWorld) -> None:
    response = await world.get("patient", APPOINTMENTS, patient_id=world.id("other_patient"))
    assert_problem(response, 403, "forbidden")
    response = await world.get("doctor", APPOINTMENTS, doctor_id=world.id("other_doctor"))
    assert_problem(response, 403, "forbidden")
    # Naming oneself is fine.
    assert (await world.get("patient", APPOINTMENTS, patient_id=world.id("patient"))).is_success


async def test_filters_by_status_doctor_patient_and_start(world: ClinicWorld) -> None:
    a = await world.booked("patient", doctor="doctor")  # Wed 10:00, pending
    b = await world.booked("other_patient", doctor="doctor", starts_at=WEDNESDAY_10 + VISIT)
    c = await world.booked(
        "patient", doctor="other_doctor", starts_at=WEDNESDAY_10 + timedelta(days=1)
    )
    await world.act("doctor", b["id"], "approve")
    await world.act("patient", c["id"], "cancel", {"reason": "x"})

    async def admin(**params: Any) -> list[str]:
        return ids(await listed(world, "admin", **params))

    assert await admin(status="approved") == [b["id"]]
    assert await admin(status="pending,cancelled") == [a["id"], c["id"]]
    # Repeated parameters, through the query string as clients send them.
    response = await world.client.get(
        f"{APPOINTMENTS}?status=pending&status=approved", headers=await world.auth("admin")
    )
    assert ids(response.json()) == [a["id"], b["id"]]
    assert await admin(doctor_id=world.id("doctor")) == [a["id"], b["id"]]
    assert await admin(patient_id=world.id("patient")) == [a["id"], c["id"]]
    # from is inclusive, to exclusive, both on the start; offsets other than Z work too.
    assert await admin(**{"from": iso(WEDNESDAY_10 + VISIT)}) == [b["id"], c["id"]]
    assert await admin(**{"to": iso(WEDNESDAY_10 + VISIT)}) == [a["id"]]
    assert await admin(
        **{"from": "2030-01-09T11:30:00+01:00", "to": iso(WEDNESDAY_10 + timedelta(hours=2))}
    ) == [b["id"]]


async def test_bad_filters_are_refused(world: ClinicWorld) -> None:
    problem = assert_problem(
        await world.get("admin", APPOINTMENTS, status="done"), 400, "invalid-input"
    )
    assert problem["errors"][0]["field"] == "status"
    naive = await world.get("admin", APPOINTMENTS, **{"from": "2030-01-09T10:00:00"})
    assert assert_problem(naive, 400, "invalid-input")["errors"][0]["field"] == "from"
    for limit in (0, 101):
        assert (await world.get("admin", APPOINTMENTS, limit=limit)).status_code == 400
    assert (await world.get("admin", APPOINTMENTS, offset=-1)).status_code == 400


async def test_walking_the_pages_returns_everything_once_in_order(world: ClinicWorld) -> None:
    # Three pairs of (doctor, patient) booked at the same four starts: ties on the start
    # are broken by id, so the order is total and the pages are stable.
    for n in range(3):
        await world.add_doctor(f"doctor_{n}")
        await world.add_user(f"patient_{n}", world.people["patient"].role)
    booked: list[dict[str, Any]] = []
    for hour in (3, 0, 2, 1):  # not in order of start
        for n in range(3):
            booked.append(
                await world.booked(
                    f"patient_{n}",
                    doctor=f"doctor_{n}",
                    starts_at=WEDNESDAY_10 + timedelta(hours=hour),
                )
            )
    expected = [a["id"] for a in sorted(booked, key=lambda a: (a["starts_at"], a["id"]))]

    seen: list[str] = []
    page = await listed(world, "admin", limit=5)
    pages = 1
    while True:
        assert page["total"] == 12 and page["limit"] == 5
        seen.extend(ids(page))
        if page["next"] is None:
            break
        response = await world.client.get(page["next"], headers=await world.auth("admin"))
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
    assert pages == 3
    assert seen == expected  # sorted by (start, id), nothing repeated or missing

    # The same slice asked for directly is the same slice.
    assert ids(await listed(world, "admin", limit=5, offset=5)) == expected[5:10]
    last = await listed(world, "admin", limit=5, offset=10)
    assert ids(last) == expected[10:] and last["next"] is None


async def test_next_keeps_the_filters(world: ClinicWorld) -> None:
    for hour in range(3):
        await world.booked("patient", starts_at=WEDNESDAY_10 + timedelta(hours=hour))
    await world.booked("other_patient", doctor="other_doctor")
    first = await listed(world, "admin", limit=2, doctor_id=world.id("doctor"))
    assert first["total"] == 3
    assert first["next"].startswith(f"{APPOINTMENTS}?")
    second = (await world.client.get(first["next"], headers=await world.auth("admin"))).json()
    assert len(second["items"]) == 1 and second["next"] is None
    assert {item["doctor_id"] for item in first["items"] + second["items"]} == {world.id("doctor")}
