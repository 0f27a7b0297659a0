"""The live stream against a real server, on both backends (SQLite in process;
PostgreSQL + Redis): a commit reaches the stream without waiting for the outbox poll,
a reconnection with ``Last-Event-ID`` loses nothing and repeats nothing, a logout or
a deactivation closes the stream, and a person holds a bounded number of streams."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest

from tests.e2e.harness import (
    API,
    NOTIFICATIONS,
    PASSWORD,
    VISIT,
    WEDNESDAY_10,
    Backend,
    ClinicWorld,
    SseEvent,
    assert_problem,
    bearer,
    served_clinic_world,
    sse_events,
)

PATIENCE = 15.0
#: A commit must reach the stream long before this poll interval.
SLOW_POLL = {"HDUCE_OUTBOX_POLL_INTERVAL": "10"}


@asynccontextmanager
async def world_with(
    backend: Backend, env: Mapping[str, str] | None = None
) -> AsyncIterator[ClinicWorld]:
    async with served_clinic_world(backend, {**SLOW_POLL, **(env or {})}, password=PASSWORD) as w:
        yield w


@asynccontextmanager
async def open_stream(
    world: ClinicWorld, headers: Mapping[str, str]
) -> AsyncIterator[AsyncIterator[SseEvent]]:
    async with world.client.stream(
        "GET", f"{NOTIFICATIONS}/stream", headers=dict(headers), timeout=PATIENCE
    ) as response:
        assert response.status_code == 200, await response.aread()
        events = sse_events(response)
        ready = await asyncio.wait_for(anext(events), PATIENCE)
        assert ready.event == "ready"
        yield events


async def notifications(
    events: AsyncIterator[SseEvent], count: int, *, patience: float = PATIENCE
) -> list[SseEvent]:
    found: list[SseEvent] = []
    async with asyncio.timeout(patience):
        async for event in events:
            if event.event == "notification":
                found.append(event)
                if len(found) == count:
                    return found
    raise AssertionError(f"the stream ended after {len(found)} of {count} notifications")


async def last_event(events: AsyncIterator[SseEvent], *, patience: float = PATIENCE) -> SseEvent:
    """The last event before the stream ends (comments skipped)."""
    last = SseEvent()
    async with asyncio.timeout(patience):
        async for event in events:
            if event.event is not None:
                last = event
    return last


async def stored(world: ClinicWorld, who: str, count: int) -> None:
    """Wait until ``who`` has ``count`` notifications in the inbox."""
    for _ in range(int(PATIENCE / 0.05)):
        if (await world.get(who, NOTIFICATIONS, limit=100)).json()["total"] >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{who} never had {count} notifications")


async def test_a_commit_reaches_the_stream_without_waiting_for_the_poll(
    backend: Backend,
) -> None:
    async with world_with(backend) as world, open_stream(world, await world.auth("doctor")) as ev:
        started = time.perf_counter()
        booked = await world.booked("patient")
        [event] = await notifications(ev, 1, patience=5)
        elapsed = time.perf_counter() - started
        assert json.loads(event.data)["metadata"]["appointment_id"] == booked["id"]
        # The poll is 10 s; the wake-up on commit makes it tens of milliseconds (the
        # figure is the bench's business; this only proves the poll was not waited for).
        assert elapsed < 2.0, f"{elapsed:.3f} s from the booking to the stream"


async def test_a_reconnection_with_last_event_id_loses_nothing_and_repeats_nothing(
    backend: Backend,
) -> None:
    async with world_with(backend) as world:
        doctor = await world.auth("doctor")
        async with open_stream(world, doctor) as events:
            first = await world.booked("patient")
            [seen] = await notifications(events, 1)
        # Disconnected: three more for the doctor are stored meanwhile.
        second = await world.booked("patient", starts_at=WEDNESDAY_10 + VISIT)
        cancelled = await world.act("patient", first["id"], "cancel", {"reason": "cannot come"})
        assert cancelled.status_code == 200, cancelled.text
        third = await world.booked("other_patient", starts_at=WEDNESDAY_10 + 2 * VISIT)
        await stored(world, "doctor", 4)

        async with open_stream(world, {**doctor, "Last-Event-ID": str(seen.id)}) as events:
            replayed = await notifications(events, 3)
            live = await world.booked("other_patient", starts_at=WEDNESDAY_10 + 3 * VISIT)
            [after] = await notifications(events, 1)
            with pytest.raises(TimeoutError):  # nothing comes twice
                await notifications(events, 1, patience=1.0)

        about = [json.loads(e.data)["metadata"]["appointment_id"] for e in replayed]
        assert about == [second["id"], first["id"], third["id"]]  # stored order
        assert [json.loads(e.data)["type"] for e in replayed][1] == "appointment.cancelled"
        assert json.loads(after.data)["metadata"]["appointment_id"] == live["id"]
        inbox = (await world.get("doctor", NOTIFICATIONS, limit=100)).json()["items"]
        assert sorted(str(e.id) for e in [seen, *replayed, after]) == sorted(n["id"] for n in inbox)


async def test_a_malformed_last_event_id_is_refused(backend: Backend) -> None:
    async with world_with(backend) as world:
        response = await world.client.get(
            f"{NOTIFICATIONS}/stream", headers={**await world.auth("doctor"), "Last-Event-ID": "x"}
        )
        body = assert_problem(response, 400, "invalid-request")
        assert body["errors"][0]["source"] == "header"


FAST_CHECKS = {"HDUCE_STREAM_SESSION_CHECK_INTERVAL": "0.2"}


async def test_logout_closes_the_stream_of_that_session(backend: Backend) -> None:
    async with world_with(backend, FAST_CHECKS) as world:
        session = bearer((await world.sign_in("patient"))["access_token"])
        other_session = bearer((await world.sign_in("patient"))["access_token"])
        async with (
            open_stream(world, session) as events,
            open_stream(world, other_session) as other_events,
        ):
            logged_out = await world.client.post(f"{API}/auth/logout", headers=session)
            assert logged_out.status_code == 204, logged_out.text
            started = time.perf_counter()
            assert (await last_event(events, patience=5)).event == "session-revoked"
            assert time.perf_counter() - started < 2.0
            # The other session of the same person is not affected.
            booked = await world.booked("patient")
            [event] = await notifications(other_events, 1)
            assert json.loads(event.data)["metadata"]["appointment_id"] == booked["id"]


async def test_deactivation_closes_every_stream_of_the_account(backend: Backend) -> None:
    async with world_with(backend, FAST_CHECKS) as world:
        session = bearer((await world.sign_in("patient"))["access_token"])
        async with open_stream(world, session) as events:
            response = await world.client.patch(
                f"{API}/admin/users/{world.id('patient')}",
                json={"is_active": False},
                headers=await world.auth("admin"),
            )
            assert response.status_code == 200, response.text
            assert (await last_event(events, patience=5)).event == "session-revoked"
        refused = await world.client.get(f"{NOTIFICATIONS}/stream", headers=session)
        assert_problem(refused, 401, "unauthenticated")


async def test_one_stream_too_many_is_refused_with_429(backend: Backend) -> None:
    async with world_with(backend, {"HDUCE_STREAM_MAX_PER_USER": "2"}) as world:
        doctor = await world.auth("doctor")
        async with open_stream(world, doctor), open_stream(world, await world.auth("patient")):
            async with open_stream(world, doctor):
                refused = await world.client.get(f"{NOTIFICATIONS}/stream", headers=doctor)
                body = assert_problem(refused, 429, "too-many-streams")
                assert int(refused.headers["retry-after"]) >= 1
                assert body["retry_after_seconds"] >= 1
            # One closed: a slot is free again (as soon as the server saw the client go).
            async with asyncio.timeout(PATIENCE):
                while True:
                    async with world.client.stream(
                        "GET", f"{NOTIFICATIONS}/stream", headers=doctor
                    ) as response:
                        if response.status_code == 200:
                            break
                        assert response.status_code == 429
                    await asyncio.sleep(0.1)
