"""The in-app inbox over HTTP, filled by the real pipeline: a booking's event goes
through the outbox relay and the notification handler (``world.deliver_events``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.e2e.harness import NOTIFICATIONS, WEDNESDAY_10, ClinicWorld, assert_problem, iso


async def inbox(world: ClinicWorld, who: str, **params: Any) -> dict[str, Any]:
    response = await world.get(who, NOTIFICATIONS, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def unread(world: ClinicWorld, who: str) -> int:
    response = await world.get(who, f"{NOTIFICATIONS}/unread-count")
    assert response.status_code == 200, response.text
    count: int = response.json()["unread"]
    return count


async def test_a_booking_notifies_the_patient_and_the_doctor(world: ClinicWorld) -> None:
    booked = await world.booked()
    assert await inbox(world, "patient") == {"items": [], "total": 0, "limit": 20, "offset": 0}
    assert await world.deliver_events() == 1

    [to_patient] = (await inbox(world, "patient"))["items"]
    assert to_patient["type"] == "appointment.requested"
    assert to_patient["title"] == "Appointment request submitted"
    assert to_patient["metadata"]["appointment_id"] == booked["id"]
    assert to_patient["read"] is False and to_patient["read_at"] is None
    assert to_patient["created_at"] == iso(world.clock.now())
    [to_doctor] = (await inbox(world, "doctor"))["items"]
    assert to_doctor["type"] == "appointment.requested"
    assert to_doctor["metadata"]["appointment_id"] == booked["id"]
    assert to_doctor["id"] != to_patient["id"]

    assert (await unread(world, "patient"), await unread(world, "doctor")) == (1, 1)
    assert (await inbox(world, "other_patient"))["total"] == 0

    # Relaying again adds nothing: the handler is idempotent by event id.
    assert await world.deliver_events() == 0
    assert (await inbox(world, "patient"))["total"] == 1


async def test_newest_first_and_paginated(world: ClinicWorld) -> None:
    booked = await world.booked()
    await world.deliver_events()
    world.clock.advance(minutes=5)
    await world.act("doctor", booked["id"], "approve")
    await world.deliver_events()

    page = await inbox(world, "patient")
    assert [n["type"] for n in page["items"]] == ["appointment.approved", "appointment.requested"]
    first = await inbox(world, "patient", limit=1)
    second = await inbox(world, "patient", limit=1, offset=1)
    assert (first["total"], second["total"]) == (2, 2)
    assert first["items"] + second["items"] == page["items"]
    assert (await world.get("patient", NOTIFICATIONS, limit=101)).status_code == 400


async def test_mark_read_unread_filter_and_read_all(world: ClinicWorld) -> None:
    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve")
    await world.deliver_events()
    newest, oldest = (await inbox(world, "patient"))["items"]

    response = await world.client.post(
        f"{NOTIFICATIONS}/{oldest['id']}/read", headers=await world.auth("patient")
    )
    assert response.status_code == 200, response.text
    read = response.json()
    assert read["read"] is True and read["read_at"] == iso(world.clock.now())
    assert await unread(world, "patient") == 1
    assert [n["id"] for n in (await inbox(world, "patient", unread="true"))["items"]] == [
        newest["id"]
    ]

    # Marking again keeps the first read time.
    first_read_at = read["read_at"]
    world.clock.advance(minutes=3)
    again = await world.client.post(
        f"{NOTIFICATIONS}/{oldest['id']}/read", headers=await world.auth("patient")
    )
    assert again.json()["read_at"] == first_read_at

    response = await world.client.post(
        f"{NOTIFICATIONS}/read-all", headers=await world.auth("patient")
    )
    assert response.status_code == 200
    assert response.json() == {"marked": 1}
    assert await unread(world, "patient") == 0
    assert (await inbox(world, "patient", unread="true"))["items"] == []
    # The doctor's inbox was not touched.
    assert await unread(world, "doctor") == 1


async def test_delete_one_of_mine(world: ClinicWorld) -> None:
    await world.booked()
    await world.deliver_events()
    [mine] = (await inbox(world, "patient"))["items"]
    url = f"{NOTIFICATIONS}/{mine['id']}"

    response = await world.client.delete(url, headers=await world.auth("patient"))
    assert response.status_code == 204 and response.content == b""
    assert (await inbox(world, "patient"))["total"] == 0
    assert_problem(
        await world.client.delete(url, headers=await world.auth("patient")), 404, "not-found"
    )


async def test_someone_elses_notification_is_missing_to_me(world: ClinicWorld) -> None:
    await world.booked()
    await world.deliver_events()
    [theirs] = (await inbox(world, "patient"))["items"]
    url = f"{NOTIFICATIONS}/{theirs['id']}"

    headers = await world.auth("other_patient")
    assert_problem(await world.client.post(f"{url}/read", headers=headers), 404, "not-found")
    assert_problem(await world.client.delete(url, headers=headers), 404, "not-found")
    # Still there, still unread.
    [still] = (await inbox(world, "patient"))["items"]
    assert still["id"] == theirs["id"] and still["read"] is False


async def test_a_cancellation_tells_the_other_party_who_cancelled(world: ClinicWorld) -> None:
    booked = await world.booked(starts_at=WEDNESDAY_10 + timedelta(days=1))
    await world.act("patient", booked["id"], "cancel", {"reason": "Feeling better"})
    await world.deliver_events()
    doctor_types = [n["type"] for n in (await inbox(world, "doctor"))["items"]]
    patient_types = [n["type"] for n in (await inbox(world, "patient"))["items"]]
    assert doctor_types == ["appointment.cancelled", "appointment.requested"]
    assert patient_types == ["appointment.requested"]  # the one who cancelled is not told


async def test_anonymous_callers_are_refused(world: ClinicWorld) -> None:
    for path in (NOTIFICATIONS, f"{NOTIFICATIONS}/unread-count", f"{NOTIFICATIONS}/stream"):
        assert_problem(await world.client.get(path), 401, "unauthenticated")
    assert_problem(await world.client.post(f"{NOTIFICATIONS}/read-all"), 401, "unauthenticated")
