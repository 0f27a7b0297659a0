"""Institutions over HTTP, on SQLite and on PostgreSQL + Redis (ADR 0025): an admin
makes hospitals and clinics and says who works where (the doctor is told in the app
and by e-mail, as the SMTP server receives it); a doctor's hours at two places never
overlap; doctors and free slots are found by institution, each slot names its place;
a booking carries the institution whose hours cover it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.domain.identity import Role
from hduce.domain.scheduling import WeeklyHours
from tests.e2e.harness import (
    API,
    NOW,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer

INSTITUTIONS = f"{API}/institutions"
NEXT_MONDAY = "2030-01-14"  # NOW is Monday 2030-01-07 08:00 UTC


def _institution(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "hospital",
        "address": {"line1": "Calle Mayor 1", "city": "Madrid", "country": "es"},
        "timezone": "Europe/Madrid",
        **fields,
    }


async def _create(world: ClinicWorld, body: dict[str, Any]) -> dict[str, Any]:
    response = await world.client.post(INSTITUTIONS, json=body, headers=await world.auth("admin"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _hours(
    world: ClinicWorld, who: str, days: dict[str, Any], institution_id: str | None = None
) -> Any:
    body: dict[str, Any] = {"days": days}
    if institution_id is not None:
        body["institution_id"] = institution_id
    return await world.client.put(
        f"{API}/doctors/{world.id('roaming')}/working-hours",
        json=body,
        headers=await world.auth(who),
    )


async def _world(make_client: AppFactory, backend: Backend, smtp: SmtpServer) -> ClinicWorld:
    client = await make_client({"HDUCE_SMTP_URL": smtp.url}, backend=backend, clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    await world.add_doctor("roaming", hours=WeeklyHours())  # no hours anywhere yet
    return world


async def test_an_admin_manages_institutions_and_others_may_only_read(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    world = await _world(make_client, backend, smtp_server)
    north = await _create(world, _institution("Hospital Norte"))
    assert north["address"]["country"] == "ES"
    assert (north["kind"], north["timezone"], north["is_active"]) == (
        "hospital",
        "Europe/Madrid",
        True,
    )
    south = await _create(world, _institution("Clínica Sur", kind="clinic"))

    refused = await world.client.post(
        INSTITUTIONS, json=_institution("Mine"), headers=await world.auth("doctor")
    )
    assert_problem(refused, 403, "forbidden")
    bad_zone = await world.client.post(
        INSTITUTIONS,
        json=_institution("Nowhere", timezone="Europe/Madird"),
        headers=await world.auth("admin"),
    )
    assert_problem(bad_zone, 400, "invalid-input")
    bad_kind = await world.client.post(
        INSTITUTIONS, json=_institution("Spa", kind="spa"), headers=await world.auth("admin")
    )
    assert bad_kind.status_code == 400

    listed = await world.client.get(INSTITUTIONS)  # public
    assert [i["name"] for i in listed.json()["items"]] == ["Clínica Sur", "Hospital Norte"]
    renamed = await world.client.patch(
        f"{INSTITUTIONS}/{south['id']}",
        json={"name": "Clínica del Sur", "timezone": "Atlantic/Canary"},
        headers=await world.auth("admin"),
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["timezone"], renamed.json()["version"]) == (
        "Clínica del Sur",
        "Atlantic/Canary",
        2,
    )

    closed = await world.client.post(
        f"{INSTITUTIONS}/{south['id']}/deactivate", headers=await world.auth("admin")
    )
    assert closed.status_code == 200 and closed.json()["is_active"] is False
    active = await world.client.get(INSTITUTIONS)
    assert [i["id"] for i in active.json()["items"]] == [north["id"]]
    inactive = await world.client.get(INSTITUTIONS, params={"active": "false"})
    assert [i["id"] for i in inactive.json()["items"]] == [south["id"]]
    # A deactivated institution takes no new doctors.
    joining = await world.client.put(
        f"{INSTITUTIONS}/{south['id']}/doctors/{world.id('roaming')}",
        headers=await world.auth("admin"),
    )
    assert_problem(joining, 422, "institution-inactive")
    missing = await world.client.get(f"{INSTITUTIONS}/{world.id('doctor')}")
    assert_problem(missing, 404, "not-found")


async def test_hours_at_two_places_slots_and_bookings_by_institution(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    world = await _world(make_client, backend, smtp_server)
    await world.add_user("other_admin", Role.ADMIN)
    north = await _create(world, _institution("Hospital Norte"))
    south = await _create(world, _institution("Clínica Sur", kind="clinic"))
    roaming = world.id("roaming")

    # Hours at a place the doctor does not work at are refused.
    not_member = await _hours(
        world, "roaming", {"monday": [{"start": "08:00", "end": "12:00"}]}, north["id"]
    )
    assert_problem(not_member, 422, "not-a-member")
    for place in (north, south):
        added = await world.client.put(
            f"{INSTITUTIONS}/{place['id']}/doctors/{roaming}", headers=await world.auth("admin")
        )
        assert added.status_code == 204, added.text
    again = await world.client.put(
        f"{INSTITUTIONS}/{north['id']}/doctors/{roaming}", headers=await world.auth("admin")
    )
    assert again.status_code == 204

    # The doctor hears of it once per place, in the app and by e-mail.
    await world.deliver_events()
    await (await world.container.get(DeliverPendingNotifications))()
    inbox = await world.get("roaming", f"{API}/notifications")
    joined = sorted(
        n["title"] for n in inbox.json()["items"] if n["type"] == "doctor.institution_joined"
    )
    assert joined == ["You now work at Clínica Sur", "You now work at Hospital Norte"]
    email = world.people["roaming"].email
    subjects = sorted(m.subject for m in smtp_server.messages if email in m.rcpt_tos)
    assert subjects == ["You now work at Clínica Sur", "You now work at Hospital Norte"]

    at_north = await _hours(
        world, "roaming", {"monday": [{"start": "08:00", "end": "12:00"}]}, north["id"]
    )
    assert at_north.status_code == 200, at_north.text
    # One place at a time: 11:00-14:00 at the south overlaps 08:00-12:00 at the north.
    clash = await _hours(
        world, "admin", {"monday": [{"start": "11:00", "end": "14:00"}]}, south["id"]
    )
    body = assert_problem(clash, 422, "hours-overlap-across-institutions")
    assert "08:00-12:00" in body["detail"]
    at_south = await _hours(
        world, "admin", {"monday": [{"start": "12:00", "end": "14:00"}]}, south["id"]
    )
    assert at_south.status_code == 200, at_south.text
    assert at_south.json()["days"]["monday"] == [
        {"start": "08:00", "end": "12:00", "institution_id": north["id"]},
        {"start": "12:00", "end": "14:00", "institution_id": south["id"]},
    ]
    # Extra hours follow the same rule.
    extra_clash = await world.client.post(
        f"{API}/doctors/{roaming}/extra-hours",
        json={"date": NEXT_MONDAY, "start": "13:00", "end": "15:00", "institution_id": north["id"]},
        headers=await world.auth("roaming"),
    )
    assert_problem(extra_clash, 422, "hours-overlap-across-institutions")

    # Doctors by institution and specialty.
    found = await world.client.get(
        f"{API}/doctors",
        params={"institution_id": south["id"], "specialty_id": str(world.specialty_id)},
    )
    assert [d["id"] for d in found.json()["items"]] == [roaming]
    nobody = await world.client.get(
        f"{API}/doctors", params={"institution_id": str(world.id("doctor"))}
    )
    assert nobody.json()["items"] == []

    # Free slots at one place, each naming it.
    slots = await world.client.get(
        f"{API}/doctors/{roaming}/slots",
        params={"from": NEXT_MONDAY, "to": NEXT_MONDAY, "institution_id": south["id"]},
    )
    assert slots.status_code == 200, slots.text
    assert [s["starts_at"][11:16] for s in slots.json()] == ["12:00", "12:30", "13:00", "13:30"]
    assert {s["institution"]["id"] for s in slots.json()} == {south["id"]}
    assert slots.json()[0]["institution"] == {
        "id": south["id"],
        "name": "Clínica Sur",
        "timezone": "Europe/Madrid",
    }
    every = await world.client.get(
        f"{API}/doctors/{roaming}/slots", params={"from": NEXT_MONDAY, "to": NEXT_MONDAY}
    )
    assert len(every.json()) == 12
    assert [s["institution"]["name"] for s in every.json()][7:9] == [
        "Hospital Norte",
        "Clínica Sur",
    ]

    # A booking carries the place whose hours cover it.
    booked = await world.booked(doctor="roaming", starts_at=_at(NEXT_MONDAY, "12:30"))
    assert booked["institution_id"] == south["id"]
    elsewhere = await world.booked(doctor="doctor")
    assert elsewhere["institution_id"] is None

    # Statistics per institution, and limited to one.
    stats = await world.get("admin", f"{API}/admin/stats")
    assert stats.status_code == 200, stats.text
    figures = stats.json()["appointments"]
    assert figures["total"] == 2
    assert figures["by_institution"] == [
        {"institution_id": south["id"], "name": "Clínica Sur", "count": 1}
    ]
    limited = await world.get("admin", f"{API}/admin/stats", institution_id=south["id"])
    assert limited.json()["appointments"]["total"] == 1
    assert limited.json()["appointments"]["institution_id"] == south["id"]
    assert [d["doctor_id"] for d in limited.json()["appointments"]["by_doctor"]] == [roaming]
    forbidden = await world.get("roaming", f"{API}/admin/stats", institution_id=south["id"])
    assert forbidden.status_code == 403
    report = await world.get("admin", f"{API}/admin/reports/institutions.csv")
    assert report.status_code == 200, report.text
    assert report.text.lstrip("\ufeff").splitlines() == [
        "institution_id,institution_name,appointments",
        f"{south['id']},Clínica Sur,1",
    ]
    doctors = await world.get(
        "admin", f"{API}/admin/reports/doctors.csv", institution_id=south["id"]
    )
    assert [line.split(",")[0] for line in doctors.text.splitlines()[1:]] == [roaming]

    # The doctor leaves the south: refused while hours are kept there, then told.
    leaving = await world.client.delete(
        f"{INSTITUTIONS}/{south['id']}/doctors/{roaming}", headers=await world.auth("admin")
    )
    assert_problem(leaving, 422, "institution-has-hours")
    cleared = await _hours(world, "admin", {}, south["id"])
    assert cleared.json()["days"]["monday"] == [
        {"start": "08:00", "end": "12:00", "institution_id": north["id"]}
    ]
    left = await world.client.delete(
        f"{INSTITUTIONS}/{south['id']}/doctors/{roaming}", headers=await world.auth("admin")
    )
    assert left.status_code == 204, left.text
    # The visit booked there stays where it was.
    kept = await world.appointment(booked["id"])
    assert (kept["institution_id"], kept["status"]) == (south["id"], "pending")
    await world.deliver_events()
    inbox = await world.get("roaming", f"{API}/notifications")
    assert [
        n["title"] for n in inbox.json()["items"] if n["type"] == "doctor.institution_left"
    ] == ["You no longer work at Clínica Sur"]


def _at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=UTC)
