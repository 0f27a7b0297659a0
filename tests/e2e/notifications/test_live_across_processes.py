"""Live push in the split deployment, as real processes: a client streams from an
``hduce api`` process while a separate ``hduce worker`` process relays the outbox and
stores the notifications (PostgreSQL + Redis; events from the relay to the consumers in
process, or through RabbitMQ). The worker's commit reaches the API's
stream through Redis pub/sub, and the worker's relay is woken by PostgreSQL's NOTIFY
instead of its 10 s poll. A reconnection with ``Last-Event-ID`` replays what was
stored meanwhile."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hduce.adapters.security.passwords import Argon2Parameters
from hduce.adapters.sql import upgrade_database
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Role, User
from hduce.domain.ids import uuid7
from tests import services
from tests.e2e.harness import (
    APPOINTMENTS,
    NOTIFICATIONS,
    SECRET,
    VISIT,
    SseEvent,
    iso,
    issued_headers,
    sse_events,
    store_doctor,
    store_specialty,
    store_user,
)
from tests.e2e.server import clean_environment, running_server, running_worker

PATIENCE = 30.0


def account(role: Role, now: datetime) -> User:
    return User(
        id=uuid7(),
        email=f"{role.value}.{uuid7().hex[-8:]}@example.org",
        full_name=f"Live {role.value}",
        role=role,
        created_at=now,
        email_verified_at=now,  # booking may require a proven address
    )


def next_weekday_10(after: datetime) -> datetime:
    day = (after + timedelta(days=2)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


@asynccontextmanager
async def stream(
    client: httpx.AsyncClient, headers: Mapping[str, str]
) -> AsyncIterator[AsyncIterator[SseEvent]]:
    async with client.stream(
        "GET", f"{NOTIFICATIONS}/stream", headers=dict(headers), timeout=PATIENCE
    ) as response:
        assert response.status_code == 200
        events = sse_events(response)
        assert (await asyncio.wait_for(anext(events), PATIENCE)).event == "ready"
        yield events


async def next_notification(events: AsyncIterator[SseEvent], patience: float) -> dict[str, Any]:
    async with asyncio.timeout(patience):
        async for event in events:
            if event.event == "notification":
                data: dict[str, Any] = json.loads(event.data)
                assert event.id == data["id"]
                return data
    raise AssertionError("the stream ended")


@pytest.fixture(params=["in-process", "rabbitmq"])
def broker_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Events from the worker's relay to its consumers: in process, or through RabbitMQ."""
    if request.param == "in-process":
        return {}
    return {
        "HDUCE_BROKER_URL": request.getfixturevalue("rabbitmq_url"),
        "HDUCE_BROKER_PREFIX": f"live_{uuid7().hex[-8:]}",
    }


async def test_a_worker_process_pushes_to_a_stream_on_an_api_process(
    postgres_url: str, redis_url: str, broker_env: dict[str, str], tmp_path: Path
) -> None:
    async with services.temporary_database(postgres_url, prefix="hduce_live") as url:
        await upgrade_database(url)
        settings_env = {
            "HDUCE_DATABASE_URL": url,
            "HDUCE_REDIS_URL": redis_url,
            "HDUCE_JWT_SECRET": SECRET,
            "HDUCE_OUTBOX_POLL_INTERVAL": "10",
            **broker_env,
        }
        # This process only seeds the clinic and issues tokens, through the same stores.
        seeder = build_container(
            Settings.from_env(settings_env), hasher_parameters=Argon2Parameters.for_tests()
        )
        try:
            now = datetime.now(UTC)
            patient, doctor = [
                await store_user(seeder, account(role, now)) for role in (Role.PATIENT, Role.DOCTOR)
            ]
            await store_doctor(seeder, doctor, specialty_id=await store_specialty(seeder, "Live"))
            patient_auth = await issued_headers(seeder, patient, now)
            doctor_auth = await issued_headers(seeder, doctor, now)
        finally:
            await seeder.close()

        env = clean_environment(**settings_env)
        starts_at = next_weekday_10(now)
        with (
            running_server(tmp_path, env, command="api") as base_url,
            running_worker(tmp_path, env),
        ):
            async with httpx.AsyncClient(base_url=base_url) as client:

                async def book(slot: int) -> str:
                    response = await client.post(
                        APPOINTMENTS,
                        json={
                            "doctor_id": str(doctor.id),
                            "starts_at": iso(starts_at + slot * VISIT),
                        },
                        headers=patient_auth,
                    )
                    assert response.status_code == 201, response.text
                    appointment_id: str = response.json()["id"]
                    return appointment_id

                async with stream(client, doctor_auth) as events:
                    # The first one may meet a worker still connecting its listener.
                    first = await book(0)
                    seen = await next_notification(events, PATIENCE)
                    assert seen["metadata"]["appointment_id"] == first
                    latencies = []
                    for slot in (1, 2, 3):
                        started = time.perf_counter()
                        booked = await book(slot)
                        data = await next_notification(events, 5)
                        latencies.append(time.perf_counter() - started)
                        assert data["metadata"]["appointment_id"] == booked
                        seen = data
                    # Not the 10 s poll: NOTIFY woke the worker, Redis reached the API.
                    assert max(latencies) < 2.0, latencies
                    print(
                        f"booking -> SSE across processes: {[f'{s * 1000:.0f} ms' for s in latencies]}"
                    )

                # Disconnected while two more are stored; the reconnection replays them.
                missed = [await book(4), await book(5)]
                for _ in range(int(PATIENCE / 0.1)):
                    inbox = await client.get(NOTIFICATIONS, headers=doctor_auth)
                    if inbox.json()["total"] >= 6:
                        break
                    await asyncio.sleep(0.1)
                async with stream(client, {**doctor_auth, "Last-Event-ID": seen["id"]}) as events:
                    replayed = [await next_notification(events, 5) for _ in missed]
                    # Both, in the order their notifications were stored: events of two
                    # appointments may be consumed concurrently (ADR 0009).
                    assert sorted(n["metadata"]["appointment_id"] for n in replayed) == sorted(
                        missed
                    )
                    live = await book(6)
                    assert (await next_notification(events, 5))["metadata"][
                        "appointment_id"
                    ] == live
