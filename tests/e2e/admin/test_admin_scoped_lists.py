"""An admin scoped to an institution (ADR 0026) lists and exports that institution's
visits only, on SQLite and on PostgreSQL + Redis; asking for another institution's is
refused; a global admin may filter by any institution (ADR 0025)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from hduce.domain.identity import Role
from hduce.domain.scheduling import WeeklyHours
from tests.e2e.harness import API, NOW, AppFactory, Backend, ClinicWorld, assert_problem
from tests.fakes import FixedClock

INSTITUTIONS = f"{API}/institutions"
NEXT_MONDAY = "2030-01-14"  # NOW is Monday 2030-01-07 08:00 UTC


def _at(hm: str) -> datetime:
    return datetime.fromisoformat(f"{NEXT_MONDAY}T{hm}:00").replace(tzinfo=UTC)


async def _institution(world: ClinicWorld, name: str) -> str:
    created = await world.client.post(
        INSTITUTIONS,
        json={
            "name": name,
            "kind": "hospital",
            "address": {"line1": "Calle Mayor 1", "city": "Madrid", "country": "ES"},
            "timezone": "Europe/Madrid",
        },
        headers=await world.auth("admin"),
    )
    assert created.status_code == 201, created.text
    place = str(created.json()["id"])
    joined = await world.client.put(
        f"{INSTITUTIONS}/{place}/doctors/{world.id('roaming')}", headers=await world.auth("admin")
    )
    assert joined.status_code == 204, joined.text
    return place


async def _hours_at(world: ClinicWorld, place: str, start: str, end: str) -> None:
    response = await world.client.put(
        f"{API}/doctors/{world.id('roaming')}/working-hours",
        json={"days": {"monday": [{"start": start, "end": end}]}, "institution_id": place},
        headers=await world.auth("admin"),
    )
    assert response.status_code == 200, response.text


def _csv_ids(text: str) -> list[str]:
    return [row["appointment_id"] for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))]


async def test_a_scoped_admin_lists_and_exports_only_their_institutions_visits(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend, clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    await world.add_doctor("roaming", hours=WeeklyHours())
    await world.add_user("north_admin", Role.ADMIN)
    north = await _institution(world, "Hospital Norte")
    south = await _institution(world, "Clínica Sur")
    await _hours_at(world, north, "08:00", "12:00")
    await _hours_at(world, south, "12:00", "14:00")
    at_north = await world.booked(doctor="roaming", starts_at=_at("09:00"))
    at_south = await world.booked(doctor="roaming", starts_at=_at("12:30"))
    unassigned = await world.booked(doctor="doctor")
    assert (at_north["institution_id"], at_south["institution_id"]) == (north, south)
    assert unassigned["institution_id"] is None

    scoped = await client.put(
        f"{API}/admin/users/{world.id('north_admin')}/institution-scope",
        json={"institution_id": north},
        headers=await world.auth("admin"),
    )
    assert scoped.status_code == 200, scoped.text
    headers = await world.auth("north_admin")

    async def as_north(path: str, **params: Any) -> Any:
        return await client.get(path, params=params, headers=headers)

    listed = await as_north(f"{API}/appointments")
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["items"]] == [at_north["id"]]
    assert listed.json()["total"] == 1
    asked = await as_north(f"{API}/appointments", institution_id=north)
    assert [a["id"] for a in asked.json()["items"]] == [at_north["id"]]
    assert_problem(await as_north(f"{API}/appointments", institution_id=south), 403, "forbidden")

    exported = await as_north(f"{API}/admin/reports/appointments.csv")
    assert exported.status_code == 200, exported.text
    assert _csv_ids(exported.text) == [at_north["id"]]
    assert_problem(
        await as_north(f"{API}/admin/reports/appointments.csv", institution_id=south),
        403,
        "forbidden",
    )

    # A global admin sees everything, or one institution when asked.
    admin = await world.auth("admin")
    everything = await client.get(f"{API}/appointments", headers=admin)
    assert {a["id"] for a in everything.json()["items"]} == {
        at_north["id"],
        at_south["id"],
        unassigned["id"],
    }
    south_only = await client.get(
        f"{API}/appointments", params={"institution_id": south}, headers=admin
    )
    assert [a["id"] for a in south_only.json()["items"]] == [at_south["id"]]
    south_csv = await client.get(
        f"{API}/admin/reports/appointments.csv", params={"institution_id": south}, headers=admin
    )
    assert _csv_ids(south_csv.text) == [at_south["id"]]
