"""``Idempotency-Key`` on ``POST /appointments``: replay, key reuse, racing copies."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx

from tests.e2e.harness import APPOINTMENTS, WEDNESDAY_10, ClinicWorld, assert_problem, iso

KEY = "b7a1f3e2-5c1d-4c57-9d0a-6f9f1b2c3d4e"


def body_of(world: ClinicWorld, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "doctor_id": world.id("doctor"),
        "starts_at": iso(WEDNESDAY_10),
        "reason": "Check-up",
    }
    body.update(overrides)
    return body


async def post(
    world: ClinicWorld,
    body: dict[str, Any] | bytes,
    *,
    key: str | bytes | None = KEY,
    who: str = "patient",
) -> httpx.Response:
    headers: dict[str, str | bytes] = {**await world.auth(who)}
    if key is not None:
        headers["Idempotency-Key"] = key
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/json"
        return await world.client.post(APPOINTMENTS, content=body, headers=headers)
    return await world.client.post(APPOINTMENTS, json=body, headers=headers)


async def test_a_retry_replays_the_first_response_and_books_once(world: ClinicWorld) -> None:
    first = await post(world, body_of(world))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    again = await post(world, body_of(world))
    assert again.status_code == 201
    assert again.content == first.content  # byte for byte
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"] == '"1"'
    assert again.headers["location"] == first.headers["location"]
    assert [a["id"] for a in await world.all_appointments()] == [first.json()["id"]]


async def test_the_same_body_spelled_differently_is_the_same_request(world: ClinicWorld) -> None:
    first = await post(world, body_of(world))
    reordered = dict(reversed(list(body_of(world).items())))
    spaced = json.dumps(reordered, indent=4).encode()
    again = await post(world, spaced)
    assert again.headers.get("idempotent-replayed") == "true", again.text
    assert again.content == first.content


async def test_the_replay_is_the_response_of_then_not_the_state_of_now(world: ClinicWorld) -> None:
    first = await post(world, body_of(world))
    appointment_id = first.json()["id"]
    await world.act("patient", appointment_id, "cancel", {"reason": "Changed my mind"})

    # A late retry of the original request must not book the (now free) slot again.
    again = await post(world, body_of(world))
    assert again.status_code == 201
    assert again.json() == first.json()  # pending, version 1: what was answered then
    [only] = await world.all_appointments()
    assert (only["id"], only["status"]) == (appointment_id, "cancelled")


async def test_the_same_key_with_another_body_is_refused(world: ClinicWorld) -> None:
    await post(world, body_of(world))
    other = await post(world, body_of(world, starts_at=iso(WEDNESDAY_10 + timedelta(hours=2))))
    assert_problem(other, 422, "idempotency-key-reused")
    assert len(await world.all_appointments()) == 1


async def test_keys_belong_to_their_user(world: ClinicWorld) -> None:
    mine = await post(world, body_of(world), who="patient")
    theirs = await post(
        world, body_of(world, starts_at=iso(WEDNESDAY_10 + timedelta(hours=1))), who="other_patient"
    )
    assert theirs.status_code == 201, theirs.text
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]


async def test_a_refused_booking_is_not_stored_so_it_can_be_retried(world: ClinicWorld) -> None:
    blocker = await world.booked("other_patient")
    refused = await post(world, body_of(world))
    assert_problem(refused, 409, "slot-conflict")

    await world.act("other_patient", blocker["id"], "cancel", {"reason": "Free it"})
    retried = await post(world, body_of(world))
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers


async def test_a_stored_response_expires_after_a_day(world: ClinicWorld) -> None:
    first = await post(world, body_of(world, starts_at=iso(WEDNESDAY_10 + timedelta(days=2))))
    world.clock.advance(hours=24, seconds=1)
    # Expired: the key is new again, so this is a second booking of the same slot.
    again = await post(world, body_of(world, starts_at=iso(WEDNESDAY_10 + timedelta(days=2))))
    problem = assert_problem(again, 409, "slot-conflict")
    assert problem["conflicting_appointment_ids"] == [first.json()["id"]]


async def test_concurrent_copies_book_once_and_all_get_the_same_answer(world: ClinicWorld) -> None:
    copies = 8
    responses = await asyncio.gather(*(post(world, body_of(world)) for _ in range(copies)))

    assert [r.status_code for r in responses] == [201] * copies, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    originals = [r for r in responses if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    assert len(await world.all_appointments()) == 1


async def test_concurrent_requests_reusing_a_key_book_once(world: ClinicWorld) -> None:
    bodies = [
        body_of(world, starts_at=iso(WEDNESDAY_10 + timedelta(hours=hour))) for hour in range(4)
    ]
    responses = await asyncio.gather(*(post(world, body) for body in bodies))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 422, 422, 422], [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 422):
        assert_problem(refused, 422, "idempotency-key-reused")
    assert len(await world.all_appointments()) == 1


async def test_malformed_keys_are_refused(world: ClinicWorld) -> None:
    for key in ("", "x" * 256, "with space", "clé".encode()):
        response = await post(world, body_of(world), key=key)
        assert response.status_code == 400, (key, response.text)
    assert await world.all_appointments() == []


async def test_without_a_key_every_request_is_new(world: ClinicWorld) -> None:
    first = await post(world, body_of(world), key=None)
    assert first.status_code == 201
    again = await post(world, body_of(world), key=None)
    assert_problem(again, 409, "slot-conflict")
