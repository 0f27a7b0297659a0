"""The waitlist's visit type counts, over HTTP on SQLite and on PostgreSQL + Redis: a
freed slot is offered to someone waiting for a visit type only if a visit of that type,
buffers included, fits in the time the freed appointment took; accepting books that
type (its length and buffers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
    NOW,
    WEDNESDAY_10,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
    iso,
)
from tests.e2e.waitlist.test_waitlist_offers import WAITLIST, _deliver, _offers
from tests.fakes import FixedClock
from tests.services import SmtpServer


async def _visit_type(world: ClinicWorld, **fields: Any) -> str:
    response = await world.client.post(
        f"{API}/doctors/{world.id('doctor')}/visit-types",
        json=fields,
        headers=await world.auth("admin"),
    )
    assert response.status_code == 201, response.text
    kind_id: str = response.json()["id"]
    return kind_id


async def _join(world: ClinicWorld, who: str, visit_type_id: str | None) -> dict[str, Any]:
    response = await world.client.post(
        WAITLIST,
        json={
            "doctor_id": world.id("doctor"),
            "earliest": iso(WEDNESDAY_10 - timedelta(hours=2)),
            "latest": iso(WEDNESDAY_10 + timedelta(hours=8)),
            "visit_type_id": visit_type_id,
        },
        headers=await world.auth(who),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_freed_slot_goes_to_the_first_whose_visit_type_fits_and_books_that_type(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        {"HDUCE_SMTP_URL": smtp_server.url}, backend=backend, clock=FixedClock(NOW)
    )
    world = await ClinicWorld.open(client)
    for who in ("third_patient", "fourth_patient"):
        await world.add_user(who, Role.PATIENT)
    long_visit = await _visit_type(world, name="Long", duration_minutes=60)
    needs_prep = await _visit_type(
        world, name="Prepared", duration_minutes=20, buffer_before_minutes=5
    )
    short = await _visit_type(world, name="Short", duration_minutes=20, buffer_after_minutes=10)
    # The freed visit: 30 minutes without buffers, 10:00-10:30.
    taken = await world.booked("admin", patient="other_patient", approve=True)
    assert taken["ends_at"] == iso(WEDNESDAY_10 + timedelta(minutes=30))

    # In line order: a 60-minute visit does not fit in 30 minutes; one whose buffer
    # starts before 10:00 does not either; 20 + 10 minutes does.
    joined = await _join(world, "patient", long_visit)
    assert joined["visit_type_id"] == long_visit
    world.clock.advance(timedelta(minutes=1))
    await _join(world, "fourth_patient", needs_prep)
    world.clock.advance(timedelta(minutes=1))
    await _join(world, "third_patient", short)

    cancelled = await world.act("other_patient", taken["id"], "cancel", {"reason": "Away"})
    assert cancelled.status_code == 200, cancelled.text
    await _deliver(world)

    assert await _offers(world, "patient") == []
    assert await _offers(world, "fourth_patient") == []
    [offer] = await _offers(world, "third_patient")
    assert (offer["starts_at"], offer["ends_at"]) == (
        iso(WEDNESDAY_10),
        iso(WEDNESDAY_10 + timedelta(minutes=20)),
    )
    accepted = await world.client.post(
        f"{WAITLIST}/offers/{offer['id']}/accept", headers=await world.auth("third_patient")
    )
    assert accepted.status_code == 200, accepted.text
    appointment = await world.appointment(accepted.json()["appointment_id"])
    assert appointment["visit_type_id"] == short
    assert (appointment["starts_at"], appointment["ends_at"]) == (
        iso(WEDNESDAY_10),
        iso(WEDNESDAY_10 + timedelta(minutes=20)),
    )
    assert (appointment["buffer_before_minutes"], appointment["buffer_after_minutes"]) == (0, 10)


async def test_joining_with_a_visit_type_of_another_doctor_is_404(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend, clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    response = await world.client.post(
        f"{API}/doctors/{world.id('other_doctor')}/visit-types",
        json={"name": "Elsewhere", "duration_minutes": 20},
        headers=await world.auth("admin"),
    )
    assert response.status_code == 201, response.text
    refused = await world.client.post(
        WAITLIST,
        json={
            "doctor_id": world.id("doctor"),
            "earliest": iso(WEDNESDAY_10),
            "latest": iso(WEDNESDAY_10 + timedelta(hours=2)),
            "visit_type_id": response.json()["id"],
        },
        headers=await world.auth("patient"),
    )
    assert_problem(refused, 404, "not-found")
