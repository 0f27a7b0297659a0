"""``GET /api/v1/admin/audit`` over HTTP on both backends: entries written by real use
cases (an admin's HTTP action, an appointment's transitions), every filter, paging."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from uuid import UUID

import pytest

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand, TransitionCommand
from hduce.application.appointments.transitions import ApproveAppointment, CancelAppointment
from hduce.application.availability.hours import SetWorkingHours
from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.audit import AuditEntry
from hduce.domain.identity import Actor
from hduce.domain.scheduling import LocalInterval, WeeklyHours
from tests.e2e.admin.conftest import ADMIN_API, AdminApp
from tests.e2e.harness import API, assert_problem
from tests.unit.application.stats_dataset import NOW, utc

ALWAYS_OPEN = WeeklyHours({day: (LocalInterval(time(0), time(0)),) for day in range(7)})


def actions(body: dict[str, Any]) -> list[str]:
    return [entry["action"] for entry in body["items"]]


async def test_an_admin_action_over_http_is_in_the_trail_with_who_and_when(
    admin_app: AdminApp,
) -> None:
    world = admin_app.world
    patient = world.patients["p2"]
    response = await admin_app.client.patch(
        f"{API}/admin/users/{patient.id}",
        json={"is_active": False},
        headers=admin_app.headers["admin"],
    )
    assert response.status_code == 200, response.text

    body = await admin_app.audit(target_id=str(patient.id))

    assert body["total"] == 1
    assert body["items"] == [
        {
            "id": body["items"][0]["id"],
            "at": "2030-01-07T08:00:00Z",
            "actor_role": "admin",
            "actor_id": str(world.admin.id),
            "actor_name": "Stats Admin",
            "action": "user.deactivated",
            "target_type": "user",
            "target_id": str(patient.id),
            "details": {},
        }
    ]


async def test_an_appointments_story_newest_first(admin_app: AdminApp) -> None:
    world = admin_app.world
    doctor, patient = world.doctors["bob"], world.patients["p4"]
    await (await admin_app.get(SetWorkingHours))(doctor.actor, doctor.id, ALWAYS_OPEN)
    booked = await (await admin_app.get(BookAppointment))(
        BookAppointmentCommand(
            actor=patient.actor, doctor_id=doctor.id, starts_at=utc("2030-01-09T10:00")
        )
    )
    admin_app.clock.advance(minutes=5)
    await (await admin_app.get(ApproveAppointment))(TransitionCommand(doctor.actor, booked.id))
    admin_app.clock.advance(minutes=5)
    await (await admin_app.get(CancelAppointment))(
        TransitionCommand(world.admin.actor, booked.id, reason="clinic closed")
    )

    body = await admin_app.audit(target_id=str(booked.id))

    assert actions(body) == [
        "appointment.cancelled",
        "appointment.approved",
        "appointment.booked",
    ]
    assert [(e["actor_role"], e["actor_name"]) for e in body["items"]] == [
        ("admin", "Stats Admin"),
        ("doctor", "Bob Beat"),
        ("patient", "Patient P4"),
    ]
    assert [e["at"] for e in body["items"]] == [
        "2030-01-07T08:10:00Z",
        "2030-01-07T08:05:00Z",
        "2030-01-07T08:00:00Z",
    ]
    assert body["items"][0]["details"]["from_status"] == "approved"
    assert body["items"][0]["details"]["to_status"] == "cancelled"


@pytest.fixture
async def trail(admin_app: AdminApp) -> list[AuditEntry]:
    """Five entries a minute apart from 09:00 UTC, stored directly: the filters' fixture."""
    world = admin_app.world
    admin, doctor = world.admin.actor, world.doctors["alice"].actor
    start = NOW + timedelta(hours=1)
    entries = [
        AuditEntry.of(admin, start, "specialty.created", "specialty", "s-1"),
        AuditEntry.of(
            doctor, start + timedelta(minutes=1), "appointment.approved", "appointment", "a-1"
        ),
        AuditEntry.of(
            admin, start + timedelta(minutes=2), "appointment.cancelled", "appointment", "a-1"
        ),
        AuditEntry.of(
            Actor.system(),
            start + timedelta(minutes=3),
            "appointment.no_show",
            "appointment",
            "a-2",
        ),
        AuditEntry.of(
            doctor, start + timedelta(minutes=4), "appointment.approved", "appointment", "a-3"
        ),
    ]
    async with (await admin_app.get(UnitOfWorkFactory))() as uow:
        for entry in entries:
            await uow.audit.add(entry)
        await uow.commit()
    return entries


async def test_every_filter_alone_and_combined(
    admin_app: AdminApp, trail: list[AuditEntry]
) -> None:
    alice = admin_app.world.doctors["alice"].id
    admin = admin_app.world.admin.id

    assert actions(await admin_app.audit(target_id="a-1")) == [
        "appointment.cancelled",
        "appointment.approved",
    ]
    by_actor = await admin_app.audit(actor_id=str(alice))
    assert [e["target_id"] for e in by_actor["items"]] == ["a-3", "a-1"]
    assert {e["actor_name"] for e in by_actor["items"]} == {"Alice Heart"}
    assert (await admin_app.audit(action="appointment.approved"))["total"] == 2
    assert (await admin_app.audit(action="appointment.approved", actor_id=str(admin)))["total"] == 0
    system = await admin_app.audit(action="appointment.no_show")
    assert [(e["actor_role"], e["actor_id"], e["actor_name"]) for e in system["items"]] == [
        ("system", None, None)
    ]
    # 10:01 and 10:03 in Madrid (+01:00) are 09:01 and 09:03 UTC: [from, to).
    window = await admin_app.audit(
        **{"from": "2030-01-07T10:01:00+01:00", "to": "2030-01-07T10:03:00+01:00"}
    )
    assert [e["at"] for e in window["items"]] == [
        "2030-01-07T09:02:00Z",
        "2030-01-07T09:01:00Z",
    ]
    assert actions(await admin_app.audit(target_id="a-1", actor_id=str(admin))) == [
        "appointment.cancelled"
    ]


async def test_pages_are_newest_first_and_count_every_match(
    admin_app: AdminApp, trail: list[AuditEntry]
) -> None:
    since = {"from": "2030-01-07T09:00:00Z"}  # only the fixture's entries
    first = await admin_app.audit(limit=2, offset=0, **since)
    second = await admin_app.audit(limit=2, offset=2, **since)
    last = await admin_app.audit(limit=2, offset=4, **since)
    beyond = await admin_app.audit(limit=2, offset=10, **since)

    assert [p["total"] for p in (first, second, last, beyond)] == [5, 5, 5, 5]
    assert (first["limit"], second["offset"]) == (2, 2)
    ids = [e["id"] for page in (first, second, last) for e in page["items"]]
    assert ids == [str(entry.id) for entry in reversed(trail)]
    assert beyond["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2030-01-07T09:00:00"},  # no offset
        {"from": "2030-01-07T09:00:00Z", "to": "2030-01-07T09:00:00Z"},  # empty window
        {"actor_id": "not-a-uuid"},
        {"limit": "0"},
        {"limit": "201"},
        {"offset": "-1"},
        {"target_id": "a\x00b"},  # PostgreSQL cannot even compare it
        {"to": "0001-01-01T00:00:00+01:00"},  # no UTC equivalent
    ],
)
async def test_bad_filters_are_400_problems(
    embedded_admin_app: AdminApp, params: dict[str, str]
) -> None:
    response = await embedded_admin_app.client.get(
        f"{ADMIN_API}/audit", params=params, headers=embedded_admin_app.headers["admin"]
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_unknown_target_is_an_empty_page_not_an_error(
    embedded_admin_app: AdminApp,
) -> None:
    body = await embedded_admin_app.audit(target_id=str(UUID(int=7)))
    assert body == {"items": [], "total": 0, "limit": 50, "offset": 0}


async def test_a_refused_caller_is_not_told_anything(embedded_admin_app: AdminApp) -> None:
    response = await embedded_admin_app.client.get(
        f"{ADMIN_API}/audit",
        params={"target_id": str(embedded_admin_app.world.patients["p1"].id)},
        headers=embedded_admin_app.headers["patient"],
    )
    body = assert_problem(response, 403, "forbidden")
    assert "items" not in body
