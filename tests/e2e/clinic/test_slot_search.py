"""Free slots across doctors over HTTP, on SQLite and on PostgreSQL + Redis (issue 14):
two doctors of one specialty at two institutions; the search by institution gives only
the doctor who works there (their hours there), by specialty both, sorted by time; a
booked slot is not offered; the bounds are refused with 400."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hduce.domain.identity import Role
from hduce.domain.scheduling import WeeklyHours
from tests.e2e.harness import (
    API,
    NOW,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
    store_doctor,
    store_specialty,
)
from tests.fakes import FixedClock

SLOTS = f"{API}/slots"
NEXT_MONDAY = "2030-01-14"  # NOW is Monday 2030-01-07 08:00 UTC


async def _institution(world: ClinicWorld, name: str) -> str:
    response = await world.client.post(
        f"{API}/institutions",
        json={
            "name": name,
            "kind": "hospital",
            "address": {"line1": "Calle Mayor 1", "city": "Madrid", "country": "ES"},
            "timezone": "Europe/Madrid",
        },
        headers=await world.auth("admin"),
    )
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


async def _works_at(world: ClinicWorld, who: str, place: str, start: str, end: str) -> None:
    admin = await world.auth("admin")
    joined = await world.client.put(
        f"{API}/institutions/{place}/doctors/{world.id(who)}", headers=admin
    )
    assert joined.status_code == 204, joined.text
    hours = await world.client.put(
        f"{API}/doctors/{world.id(who)}/working-hours",
        json={"days": {"monday": [{"start": start, "end": end}]}, "institution_id": place},
        headers=admin,
    )
    assert hours.status_code == 200, hours.text


def _seen(response: Any) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.text
    return [
        (s["starts_at"][11:16], s["doctor"]["full_name"], s["institution"]["name"])
        for s in response.json()["items"]
    ]


async def test_free_slots_by_institution_and_specialty(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend, clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    dermatology = await store_specialty(world.container, "Dermatology")
    for who in ("north_doctor", "south_doctor"):
        user = await world.add_user(who, Role.DOCTOR)
        await store_doctor(world.container, user, specialty_id=dermatology, hours=WeeklyHours())
    north = await _institution(world, "Hospital Norte")
    south = await _institution(world, "Clínica Sur")
    await _works_at(world, "north_doctor", north, "08:00", "10:00")
    await _works_at(world, "south_doctor", south, "09:00", "10:00")
    day = {"from": NEXT_MONDAY, "to": NEXT_MONDAY}

    at_north = await world.client.get(SLOTS, params={**day, "institution_id": north})
    assert _seen(at_north) == [
        ("08:00", "North Doctor", "Hospital Norte"),
        ("08:30", "North Doctor", "Hospital Norte"),
        ("09:00", "North Doctor", "Hospital Norte"),
        ("09:30", "North Doctor", "Hospital Norte"),
    ]
    first = at_north.json()["items"][0]
    assert first["doctor"] == {
        "id": world.id("north_doctor"),
        "full_name": "North Doctor",
        "specialty": {"id": str(dermatology), "name": "Dermatology"},
    }
    assert (first["ends_at"], first["timezone"]) == ("2030-01-14T08:30:00Z", "UTC")
    assert at_north.json()["doctors_matched"] == 1

    by_specialty = await world.client.get(SLOTS, params={**day, "specialty_id": str(dermatology)})
    assert _seen(by_specialty) == [
        ("08:00", "North Doctor", "Hospital Norte"),
        ("08:30", "North Doctor", "Hospital Norte"),
        ("09:00", "North Doctor", "Hospital Norte"),
        ("09:00", "South Doctor", "Clínica Sur"),
        ("09:30", "North Doctor", "Hospital Norte"),
        ("09:30", "South Doctor", "Clínica Sur"),
    ]
    assert {k: by_specialty.json()[k] for k in ("doctors_matched", "truncated")} == {
        "doctors_matched": 2,
        "truncated": False,
    }

    # A booked slot is no longer offered.
    await world.booked(doctor="south_doctor", starts_at=datetime(2030, 1, 14, 9, 0, tzinfo=UTC))
    after = await world.client.get(SLOTS, params={**day, "specialty_id": str(dermatology)})
    assert ("09:00", "South Doctor", "Clínica Sur") not in _seen(after)
    assert len(after.json()["items"]) == 5
    limited = await world.client.get(
        SLOTS, params={**day, "specialty_id": str(dermatology), "limit": 2}
    )
    assert len(limited.json()["items"]) == 2 and limited.json()["truncated"] is True

    too_long = await world.client.get(SLOTS, params={"from": "2030-01-14", "to": "2030-01-28"})
    body = assert_problem(too_long, 400, "invalid-input")
    assert "14 days" in body["detail"]
    naive = await world.client.get(
        SLOTS, params={"from": "2030-01-14T08:00:00", "to": "2030-01-15"}
    )
    assert naive.status_code == 400
    too_many = await world.client.get(SLOTS, params={**day, "limit": 101})
    assert too_many.status_code == 400
