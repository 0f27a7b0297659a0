"""Clock, id generators, event bus, cache, rate limiter, fan-out and message sinks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from pathlib import Path
from uuid import UUID

import pytest
from structlog.testing import capture_logs

from hduce.adapters.clock import SystemClock, UuidV7Generator
from hduce.adapters.memory import (
    DeliveryFailed,
    HandlerFailed,
    InMemoryCache,
    InMemoryOutbox,
    InMemoryRateLimiter,
    InMemoryRealtimeFanout,
    InMemoryStore,
    InMemoryUnitOfWorkFactory,
    InProcessEventBus,
    LogEmailSender,
    LogSmsSender,
    RecordingEmailSender,
    RecordingSmsSender,
)
from hduce.domain import events
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.events import DomainEvent, ReminderDue
from hduce.domain.ids import uuid7
from tests.fakes import DEFAULT_FIXED_INSTANT, FixedClock, SequentialIdGenerator
from tests.unit.adapters.contract import user_registered

# ---------------------------------------------------------------------------- clocks, ids


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock()
    assert clock.now() == DEFAULT_FIXED_INSTANT == clock.now()
    assert clock.advance(minutes=5) == DEFAULT_FIXED_INSTANT + timedelta(minutes=5)
    clock.advance(timedelta(hours=1), seconds=30)
    assert clock.now() == DEFAULT_FIXED_INSTANT + timedelta(hours=1, minutes=5, seconds=30)
    clock.set(datetime(2031, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2031, 6, 1, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2031, 6, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2031, 6, 1))


def test_uuid7_generator_is_time_ordered() -> None:
    generator = UuidV7Generator()
    ids = [generator.new_id() for _ in range(200)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 200


def test_sequential_generator() -> None:
    generator = SequentialIdGenerator()
    assert [generator.new_id() for _ in range(2)] == [UUID(int=1), UUID(int=2)]


# -------------------------------------------------------------------------------- event bus


async def test_bus_dispatches_by_type_in_subscription_order() -> None:
    bus = InProcessEventBus()
    calls: list[tuple[str, str]] = []

    async def everything(event: DomainEvent) -> None:
        calls.append(("all", event.type))

    async def registrations(event: DomainEvent) -> None:
        calls.append(("registered", event.type))

    bus.subscribe(registrations, events.USER_REGISTERED)
    unsubscribe = bus.subscribe(everything)
    await bus.publish(user_registered())
    appointment_id, starts_at = uuid7(), datetime(2030, 1, 2, tzinfo=UTC)
    reminder = DomainEvent(
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC),
        aggregate_id=appointment_id,
        aggregate_version=1,
        payload=ReminderDue(
            appointment_id=appointment_id,
            patient_id=uuid7(),
            doctor_id=uuid7(),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            offset_seconds=86400,
            status=AppointmentStatus.APPROVED,
        ),
    )
    await bus.publish(reminder)
    unsubscribe()
    unsubscribe()  # twice is harmless
    await bus.publish(user_registered())
    assert calls == [
        ("registered", events.USER_REGISTERED),
        ("all", events.USER_REGISTERED),
        ("all", events.REMINDER_DUE),
        ("registered", events.USER_REGISTERED),
    ]
    assert bus.handlers_for(events.REMINDER_DUE) == []
    assert bus.handlers_for(events.USER_REGISTERED) == [registrations]
    assert len(bus.published) == 3


async def test_a_failing_handler_is_retried_then_dead_lettered() -> None:
    bus = InProcessEventBus(max_attempts=3, retry_delay_seconds=0)
    attempts = 0
    healthy: list[DomainEvent] = []

    async def flaky(event: DomainEvent) -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("database away")

    async def fine(event: DomainEvent) -> None:
        healthy.append(event)

    bus.subscribe(flaky)
    bus.subscribe(fine)
    event = user_registered()
    await bus.publish(event)  # does not raise
    assert attempts == 3
    assert healthy == [event]
    assert [(d.event, d.handler) for d in bus.dead_letters] == [(event, flaky.__qualname__)]


async def test_a_handler_that_recovers_is_not_dead_lettered() -> None:
    bus = InProcessEventBus(max_attempts=2, retry_delay_seconds=0)
    attempts = 0

    async def once_flaky(event: DomainEvent) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("blip")

    bus.subscribe(once_flaky)
    await bus.publish(user_registered())
    assert attempts == 2
    assert not bus.dead_letters


async def test_propagated_handler_errors_keep_the_event_in_the_outbox(
    clock: FixedClock,
) -> None:
    store = InMemoryStore()
    factory = InMemoryUnitOfWorkFactory(store, clock)
    outbox = InMemoryOutbox(store, clock)
    bus = InProcessEventBus(max_attempts=1, propagate_errors=True)
    seen: list[UUID] = []
    broken = True

    async def handler(event: DomainEvent) -> None:
        if broken:
            raise ConnectionError("not yet")
        seen.append(event.id)

    bus.subscribe(handler)
    first, second = user_registered(1), user_registered(2)
    async with factory() as uow:
        uow.emit(first)
        uow.emit(second)
        await uow.commit()
    result = await outbox.relay_batch(10, bus.publish)
    assert (result.published, result.failed) == (0, True)
    broken = False
    result = await outbox.relay_batch(10, bus.publish)
    assert (result.published, result.failed) == (2, False)
    assert seen == [first.id, second.id]
    with pytest.raises(HandlerFailed):
        broken = True
        await bus.publish(first)


# ------------------------------------------------------------------------------------ cache


async def test_cache_ttl_follows_the_clock(clock: FixedClock) -> None:
    cache = InMemoryCache(clock)
    await cache.set("k", b"v", 10)
    clock.advance(seconds=9.999)
    assert await cache.get("k") == b"v"
    clock.advance(seconds=0.001)
    assert await cache.get("k") is None
    await cache.set("zero", b"v", 0)
    assert await cache.get("zero") is None
    assert len(cache) == 0


async def test_cache_evicts_expired_then_oldest(clock: FixedClock) -> None:
    cache = InMemoryCache(clock, max_entries=3)
    await cache.set("short", b"1", 1)
    await cache.set("a", b"2", 100)
    await cache.set("b", b"3", 100)
    clock.advance(seconds=2)
    await cache.set("c", b"4", 100)  # "short" expired: dropped first
    assert [await cache.get(k) for k in ("a", "b", "c")] == [b"2", b"3", b"4"]
    await cache.set("d", b"5", 100)  # full of live entries: the oldest one goes
    assert await cache.get("a") is None
    assert len(cache) == 3
    cache.clear()
    assert len(cache) == 0


# ------------------------------------------------------------------------------ rate limits


async def test_sliding_window_retry_after_is_exact(clock: FixedClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    for _ in range(3):
        assert (await limiter.hit("ip", limit=3, window_seconds=60)).allowed
        clock.advance(seconds=10)
    refused = await limiter.hit("ip", limit=3, window_seconds=60)  # at +30 s
    assert (refused.allowed, refused.retry_after_seconds) == (False, 30)
    clock.advance(seconds=29)
    assert not (await limiter.hit("ip", limit=3, window_seconds=60)).allowed
    clock.advance(seconds=1)  # the first hit is 60 s old now
    allowed = await limiter.hit("ip", limit=3, window_seconds=60)
    assert (allowed.allowed, allowed.remaining) == (True, 0)


async def test_fixed_window_resets_at_the_boundary(clock: FixedClock) -> None:
    clock.set(datetime(2030, 1, 1, 12, 0, 50, tzinfo=UTC))
    limiter = InMemoryRateLimiter(clock, algorithm="fixed")
    assert (await limiter.hit("k", limit=1, window_seconds=60)).allowed
    refused = await limiter.hit("k", limit=1, window_seconds=60)
    assert (refused.allowed, refused.retry_after_seconds) == (False, 10)
    clock.advance(seconds=10)  # 12:01:00: a new window
    assert (await limiter.hit("k", limit=1, window_seconds=60)).allowed


async def test_refused_hits_do_not_count_and_reset_forgets(clock: FixedClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    assert (await limiter.hit("k", limit=1, window_seconds=10)).allowed
    for _ in range(5):
        assert not (await limiter.hit("k", limit=1, window_seconds=10)).allowed
    clock.advance(seconds=10)
    assert (await limiter.hit("k", limit=1, window_seconds=10)).allowed
    limiter.reset("k")
    assert (await limiter.hit("k", limit=1, window_seconds=10)).allowed
    nothing = await limiter.hit("never", limit=0, window_seconds=10)
    assert (nothing.allowed, nothing.retry_after_seconds) == (False, 10)
    with pytest.raises(ValueError):
        await limiter.hit("k", limit=1, window_seconds=0)
    with pytest.raises(ValueError):
        InMemoryRateLimiter(clock, algorithm="leaky")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- fan-out


async def test_fanout_iterates_until_closed() -> None:
    fanout = InMemoryRealtimeFanout()
    user = uuid7()
    received: list[dict[str, object]] = []
    opened = asyncio.Event()

    async def reader() -> None:
        async with fanout.subscribe(user) as subscription:
            opened.set()
            async for message in subscription:
                received.append(message)

    task = asyncio.create_task(reader())
    await asyncio.wait_for(opened.wait(), 1)
    await fanout.publish(user, {"n": 1})
    await fanout.publish(user, {"n": 2})
    fanout.close()
    await asyncio.wait_for(task, 1)
    assert received == [{"n": 1}, {"n": 2}]
    assert fanout.subscriber_count() == 0


async def test_fanout_copies_messages_and_ends_a_slow_reader() -> None:
    fanout = InMemoryRealtimeFanout(max_queue=2)
    user = uuid7()
    message: dict[str, object] = {"items": [1]}
    async with fanout.subscribe(user) as slow, fanout.subscribe(user) as other:
        assert fanout.subscriber_count(user) == 2
        await fanout.publish(user, message)
        message["items"] = [2]
        assert await other.get(timeout=0.1) == {"items": [1]}  # a copy, as published
        await fanout.publish(user, {"n": 2})
        await fanout.publish(user, {"n": 3})
        # ``slow`` had 2 waiting: it ends after them instead of losing one silently
        # (its stream closes; the client resumes from the inbox).
        assert slow.overflowed and not other.overflowed
        assert await slow.get(timeout=0.1) == {"items": [1]}
        assert await slow.get(timeout=0.1) == {"n": 2}
        assert await slow.get(timeout=0.01) is None
        assert slow.closed
        assert await other.get(timeout=0.1) == {"n": 2}
    assert fanout.subscriber_count(user) == 0
    assert await slow.get(timeout=0.01) is None


async def test_subscription_receives_only_once_opened() -> None:
    fanout = InMemoryRealtimeFanout()
    user = uuid7()
    subscription = fanout.subscribe(user)
    await fanout.publish(user, {"n": 0})
    async with subscription:
        await fanout.publish(user, {"n": 1})
        assert await subscription.get(timeout=0.1) == {"n": 1}


# ---------------------------------------------------------------------------- email and sms


async def test_recording_senders_keep_a_bounded_list_and_can_fail(clock: FixedClock) -> None:
    email = RecordingEmailSender(clock=clock, max_messages=2)
    for n in range(3):
        await email.send(to=f"p{n}@example.org", subject=f"s{n}", body="b")
    assert [m.subject for m in email.sent] == ["s1", "s2"]
    assert email.to("P2@EXAMPLE.org")[0].sent_at == clock.now()
    email.fail_next(2)
    for _ in range(2):
        with pytest.raises(DeliveryFailed):
            await email.send(to="x@example.org", subject="s", body="b")
    await email.send(to="x@example.org", subject="s", body="b")
    assert len(email.to("x@example.org")) == 1
    email.clear()
    assert not email.sent

    sms = RecordingSmsSender(clock=clock)
    sms.fail_next(error=TimeoutError("gateway"))
    with pytest.raises(TimeoutError):
        await sms.send(to="+34600111222", body="hi")
    await sms.send(to="+34600111222", body="hi")
    assert [m.body for m in sms.to("+34600111222")] == ["hi"]


async def test_log_email_sender_logs_and_writes_eml_files(
    tmp_path: Path, clock: FixedClock
) -> None:
    mail_dir = tmp_path / "var" / "mail"
    sender = LogEmailSender(
        from_address="Clinic <clinic@example.org>", mail_dir=mail_dir, clock=clock
    )
    with capture_logs() as logs:
        await sender.send(to="ada@example.org", subject="Appointment approved", body="See you.")
    assert logs[0]["event"] == "email.sent"
    assert logs[0]["to"] == "ada@example.org"
    files = list(mail_dir.glob("*.eml"))
    assert len(files) == 1 and logs[0]["file"] == str(files[0])
    parsed = message_from_bytes(files[0].read_bytes())
    assert parsed["To"] == "ada@example.org"
    assert parsed["From"] == "Clinic <clinic@example.org>"
    assert parsed["Subject"] == "Appointment approved"
    assert parsed.get_payload(decode=True).decode().strip() == "See you."  # type: ignore[union-attr]
    assert [m.to for m in sender.sent] == ["ada@example.org"]


async def test_log_senders_without_files(clock: FixedClock) -> None:
    email = LogEmailSender(clock=clock)
    sms = LogSmsSender(clock=clock)
    with capture_logs() as logs:
        await email.send(to="ada@example.org", subject="s", body="b")
        await sms.send(to="+34600111222", body="Reminder")
    assert [entry["event"] for entry in logs] == ["email.sent", "sms.sent"]
    assert logs[0]["file"] is None
    assert logs[1]["to"] == "+34600111222"
    assert [m.body for m in sms.sent] == ["Reminder"]
