"""``GET /notifications/stream`` (Server-Sent Events).

Against a real server (uvicorn on a loopback port) running what ``hduce serve``
runs beside HTTP: the outbox relay and the notification consumer. A booking made
over HTTP after the stream opened reaches the stream through the whole pipeline.
(In-process test clients cannot interleave a streaming response with other
requests, so they are not used here.) The stream's protocol — keep-alives, end
of session, end on shutdown — is checked on the generator itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.response import ServerSentEventMessage

from hduce.adapters.clock import UuidV7Generator
from hduce.adapters.memory import InMemoryStore, InMemoryStreamSlots, InMemoryUnitOfWorkFactory
from hduce.adapters.memory.realtime import InMemoryRealtimeFanout
from hduce.application.notifications.stream import (
    OpenNotificationStream,
    SessionCheck,
    StreamPolicy,
)
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.notifications.notifications import notification_events
from tests.e2e.harness import (
    NOTIFICATIONS,
    NOW,
    VISIT,
    WEDNESDAY_10,
    Backend,
    ClinicWorld,
    SseEvent,
    served_clinic_world,
    sse_events,
)
from tests.fakes import FixedClock

#: Bound on waiting for the pipeline, so a broken stream fails instead of hanging.
PATIENCE = 15.0


@pytest.fixture
def served_world(backend: Backend) -> AbstractAsyncContextManager[ClinicWorld]:
    return served_clinic_world(backend)


@asynccontextmanager
async def stream_of(world: ClinicWorld, who: str) -> AsyncIterator[AsyncIterator[SseEvent]]:
    """``who``'s open stream, once the server confirmed the subscription (``ready``)."""
    headers = await world.auth(who)
    async with world.client.stream(
        "GET", f"{NOTIFICATIONS}/stream", headers=headers, timeout=PATIENCE
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"  # personal data, never stored
        events = sse_events(response)
        ready = await asyncio.wait_for(anext(events), PATIENCE)
        assert ready.event == "ready"
        yield events


async def next_notification(events: AsyncIterator[SseEvent]) -> tuple[SseEvent, dict[str, Any]]:
    async with asyncio.timeout(PATIENCE):
        async for event in events:
            if event.event == "notification":
                data: dict[str, Any] = json.loads(event.data)
                return event, data
    raise AssertionError("the stream ended without a notification")


async def test_a_notification_stored_after_the_stream_opened_arrives_live(
    served_world: AbstractAsyncContextManager[ClinicWorld],
) -> None:
    async with served_world as world, stream_of(world, "doctor") as doctor_events:
        booked = await world.booked("patient", reason="Back pain")

        event, data = await next_notification(doctor_events)
        assert data["type"] == "appointment.requested"
        assert data["metadata"]["appointment_id"] == booked["id"]
        assert event.id == data["id"]
        # It is the very notification the inbox lists.
        inbox = (await world.get("doctor", NOTIFICATIONS)).json()
        assert [n["id"] for n in inbox["items"]] == [data["id"]]


async def test_each_stream_carries_only_its_users_notifications(
    served_world: AbstractAsyncContextManager[ClinicWorld],
) -> None:
    async with (
        served_world as world,
        stream_of(world, "patient") as patient_events,
        stream_of(world, "other_patient") as other_events,
    ):
        mine = await world.booked("patient")
        _, data = await next_notification(patient_events)
        assert data["metadata"]["appointment_id"] == mine["id"]

        theirs = await world.booked("other_patient", starts_at=WEDNESDAY_10 + VISIT)
        # The other stream's first notification is its own: the first booking's never
        # reached it.
        _, data = await next_notification(other_events)
        assert data["metadata"]["appointment_id"] == theirs["id"]

        await world.act("doctor", mine["id"], "approve")
        _, data = await next_notification(patient_events)
        assert (data["type"], data["metadata"]["appointment_id"]) == (
            "appointment.approved",
            mine["id"],
        )


# ------------------------------------------------------------------ the stream's protocol


async def sse_stream(
    fanout: InMemoryRealtimeFanout,
    user: UUID,
    *,
    keep_alive: float = 60,
    lifetime: float = 60,
    still_valid: SessionCheck | None = None,
    check_interval: float = 60,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The SSE messages of a stream of ``user`` over ``fanout`` (in-memory rest)."""
    clock = FixedClock(NOW)
    open_stream = OpenNotificationStream(
        InMemoryUnitOfWorkFactory(InMemoryStore(), clock),
        clock,
        UuidV7Generator(),
        fanout,
        InMemoryStreamSlots(),
        StreamPolicy(keep_alive=keep_alive, session_check_interval=check_interval),
    )

    async def always() -> bool:
        return True

    items = await open_stream(
        Actor(Role.PATIENT, user),
        expires_at=clock.now() + timedelta(seconds=lifetime),
        still_valid=still_valid or always,
    )
    return notification_events(items)


async def collect(stream: AsyncIterator[ServerSentEventMessage]) -> list[ServerSentEventMessage]:
    async with asyncio.timeout(PATIENCE):
        return [message async for message in stream]


async def test_silence_is_filled_with_keep_alive_comments_until_the_session_expires() -> None:
    fanout = InMemoryRealtimeFanout()
    messages = await collect(await sse_stream(fanout, uuid4(), keep_alive=0.01, lifetime=0.2))
    assert messages[0].event == "ready" and messages[0].retry is not None
    assert messages[-1].event == "session-expired"
    keep_alives = messages[1:-1]
    assert keep_alives, "no keep-alive during the silence"
    for message in keep_alives:
        assert message.comment == "keep-alive" and message.data is None
        assert message.encode() == b": keep-alive\r\n\r\n"  # a comment: no event fires
    assert fanout.subscriber_count() == 0  # unsubscribed at the end


async def test_a_revoked_session_is_the_last_event() -> None:
    async def revoked() -> bool:
        return False

    messages = await collect(
        await sse_stream(
            InMemoryRealtimeFanout(), uuid4(), still_valid=revoked, check_interval=0.01
        )
    )
    assert [(m.event, m.data) for m in messages] == [("ready", "{}"), ("session-revoked", "{}")]


async def test_messages_of_the_user_are_forwarded_in_order_until_shutdown() -> None:
    fanout = InMemoryRealtimeFanout()
    user, stranger = uuid4(), uuid4()
    stream = await sse_stream(fanout, user)
    assert (await anext(stream)).event == "ready"  # subscribed from here on

    async def publish() -> None:
        await fanout.publish(stranger, {"id": "n0", "title": "not yours"})
        await fanout.publish(user, {"id": "n1", "title": "first"})
        await fanout.publish(user, {"id": "n2", "title": "second, with\nnewline"})
        fanout.close()  # shutdown ends every stream, with no last event: clients resume

    publisher = asyncio.create_task(publish())
    rest = await collect(stream)
    await publisher
    assert [(m.event, m.id) for m in rest] == [("notification", "n1"), ("notification", "n2")]
    assert json.loads(str(rest[1].data)) == {"id": "n2", "title": "second, with\nnewline"}
    assert b"\ndata: " not in rest[1].encode().split(b"data: ", 1)[1]  # one data line


async def test_an_abandoned_stream_unsubscribes() -> None:
    fanout = InMemoryRealtimeFanout()
    user = uuid4()
    stream = await sse_stream(fanout, user)
    await anext(stream)
    assert fanout.subscriber_count(user) == 1
    await stream.aclose()  # what a client disconnect amounts to
    assert fanout.subscriber_count(user) == 0
