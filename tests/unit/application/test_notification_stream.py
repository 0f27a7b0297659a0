"""The live notification stream as a use case: replay after a position, then live,
without gaps or duplicates; keep-alives; the end of the session (expiry, revocation);
the cap on open streams per person."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import timedelta
from uuid import UUID

import pytest

from hduce.adapters.clock import UuidV7Generator
from hduce.adapters.memory import InMemoryStreamSlots
from hduce.application.notifications.stream import (
    Delivered,
    Ended,
    KeepAlive,
    OpenNotificationStream,
    Ready,
    SessionCheck,
    StreamItem,
    StreamPolicy,
    TooManyStreams,
)
from hduce.domain.errors import PermissionDenied
from hduce.domain.identity import Actor
from hduce.domain.notifications import Channel, Notification
from tests.unit.application.support import WEDNESDAY, Clinic, local

PATIENCE = 5.0
FAST = StreamPolicy(session_check_interval=60, keep_alive=60)


async def valid() -> bool:
    return True


class Streams:
    def __init__(self, clinic: Clinic, policy: StreamPolicy = FAST) -> None:
        self.clinic = clinic
        self.slots = InMemoryStreamSlots()
        self.open_stream = OpenNotificationStream(
            clinic.uow_factory, clinic.clock, UuidV7Generator(), clinic.realtime, self.slots, policy
        )

    async def open(
        self,
        who: str = "patient",
        *,
        resume_after: UUID | None = None,
        lifetime: timedelta = timedelta(minutes=15),
        still_valid: SessionCheck = valid,
    ) -> AsyncGenerator[StreamItem, None]:
        return await self.open_stream(
            self.clinic.actor(who),
            expires_at=self.clinic.clock.now() + lifetime,
            still_valid=still_valid,
            resume_after=resume_after,
        )


async def next_item(stream: AsyncGenerator[StreamItem, None]) -> StreamItem:
    return await asyncio.wait_for(anext(stream), PATIENCE)


async def delivered_ids(stream: AsyncGenerator[StreamItem, None], count: int) -> list[str]:
    ids = []
    for _ in range(count):
        item = await next_item(stream)
        assert isinstance(item, Delivered), item
        ids.append(item.message["id"])
    return ids


async def book_and_notify(clinic: Clinic, hour: str) -> Notification:
    """A booking by the patient, handled: returns the patient's in-app notification."""
    booked = await clinic.book("patient", starts_at=local(WEDNESDAY, hour))
    [event] = clinic.events_of(booked.id)
    stored = await clinic.handle_notifications(event)
    [mine] = [
        n
        for n in stored
        if n.recipient_id == clinic.people.patient.id and n.channel is Channel.IN_APP
    ]
    return mine


async def test_new_notifications_arrive_live_and_only_to_their_recipient(clinic: Clinic) -> None:
    streams = Streams(clinic)
    patient, other = await streams.open("patient"), await streams.open("other_patient")
    assert isinstance(await next_item(patient), Ready)
    assert isinstance(await next_item(other), Ready)

    notification = await book_and_notify(clinic, "10:00")

    item = await next_item(patient)
    assert isinstance(item, Delivered)
    assert item.message["id"] == str(notification.id)
    assert item.message["title"] == notification.title
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(other), 0.1)
    await patient.aclose()
    await other.aclose()
    assert clinic.realtime.subscriber_count() == 0
    assert streams.slots.held(clinic.people.patient.id) == 0


async def test_resuming_replays_what_came_after_the_last_event_then_goes_live(
    clinic: Clinic,
) -> None:
    streams = Streams(clinic)
    seen = await book_and_notify(clinic, "09:00")
    missed = [await book_and_notify(clinic, hour) for hour in ("10:00", "11:00", "12:00")]

    stream = await streams.open(resume_after=seen.id)
    assert isinstance(await next_item(stream), Ready)
    assert await delivered_ids(stream, 3) == [str(n.id) for n in missed]
    live = await book_and_notify(clinic, "12:30")
    assert await delivered_ids(stream, 1) == [str(live.id)]
    await stream.aclose()


async def test_the_backlog_is_paged(clinic: Clinic) -> None:
    streams = Streams(clinic, StreamPolicy(replay_batch=2, keep_alive=60))
    first = await book_and_notify(clinic, "09:00")
    missed = [
        await book_and_notify(clinic, hour)
        for hour in ("10:00", "10:30", "11:00", "11:30", "12:00")
    ]
    stream = await streams.open(resume_after=first.id)
    assert isinstance(await next_item(stream), Ready)
    assert await delivered_ids(stream, 5) == [str(n.id) for n in missed]
    await stream.aclose()


async def test_one_stored_while_the_stream_opens_comes_once(clinic: Clinic) -> None:
    """Stored and published after the subscription, before the backlog is read: it is
    in the backlog *and* on the live queue, and the stream sends it once."""
    streams = Streams(clinic)
    seen = await book_and_notify(clinic, "09:00")
    stream = await streams.open(resume_after=seen.id)
    assert isinstance(await next_item(stream), Ready)  # subscribed, backlog not read yet
    racing = await book_and_notify(clinic, "10:00")
    assert await delivered_ids(stream, 1) == [str(racing.id)]  # from the backlog
    after = await book_and_notify(clinic, "11:00")
    assert await delivered_ids(stream, 1) == [str(after.id)]  # the live copy was skipped
    await stream.aclose()


async def test_silence_gets_keep_alives_until_the_token_expires(clinic: Clinic) -> None:
    streams = Streams(clinic, StreamPolicy(keep_alive=0.02, session_check_interval=60))
    stream = await streams.open(lifetime=timedelta(seconds=0.2))
    async with asyncio.timeout(PATIENCE):
        items = [item async for item in stream]
    assert isinstance(items[0], Ready)
    assert items[-1] == Ended("session-expired")
    assert items[1:-1] and all(isinstance(item, KeepAlive) for item in items[1:-1])
    assert clinic.realtime.subscriber_count() == 0
    assert streams.slots.held(clinic.people.patient.id) == 0


async def test_a_revoked_session_ends_the_stream_at_the_next_check(clinic: Clinic) -> None:
    streams = Streams(clinic, StreamPolicy(session_check_interval=0.05, keep_alive=60))
    revoked = asyncio.Event()

    async def still_valid() -> bool:
        return not revoked.is_set()

    stream = await streams.open(still_valid=still_valid)
    assert isinstance(await next_item(stream), Ready)
    await asyncio.sleep(0.15)  # a few checks pass
    revoked.set()
    assert await next_item(stream) == Ended("session-revoked")
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert streams.slots.held(clinic.people.patient.id) == 0


async def test_a_check_that_cannot_run_ends_the_stream_quietly(clinic: Clinic) -> None:
    streams = Streams(clinic, StreamPolicy(session_check_interval=0.02, keep_alive=60))

    async def broken() -> bool:
        raise ConnectionError("denylist unreachable")

    stream = await streams.open(still_valid=broken)
    assert isinstance(await next_item(stream), Ready)
    assert await next_item(stream) == Ended(None)


async def test_the_end_of_the_subscription_ends_the_stream(clinic: Clinic) -> None:
    streams = Streams(clinic)
    stream = await streams.open()
    assert isinstance(await next_item(stream), Ready)
    clinic.realtime.close()  # shutdown, or a fan-out that lost messages
    assert await next_item(stream) == Ended(None)


async def test_one_stream_too_many_is_refused_until_one_closes(clinic: Clinic) -> None:
    streams = Streams(clinic, StreamPolicy(max_per_user=2, session_check_interval=7))
    first, second = await streams.open(), await streams.open()
    with pytest.raises(TooManyStreams) as refused:
        await streams.open()
    assert refused.value.retry_after_seconds == 7
    assert refused.value.code == "too-many-streams"
    other = await streams.open("other_patient")  # per person
    assert isinstance(await next_item(first), Ready)
    await first.aclose()
    third = await streams.open()
    for stream in (second, other, third):
        await stream.aclose()


async def test_the_system_has_no_stream(clinic: Clinic) -> None:
    with pytest.raises(PermissionDenied):
        await Streams(clinic).open_stream(
            Actor.system(),
            expires_at=clinic.clock.now() + timedelta(minutes=1),
            still_valid=valid,
        )
