"""Resilience against the real thing: events published twice, a worker killed with
SIGKILL mid-stream, each with real ``hduce worker`` processes, a real broker,
PostgreSQL and an SMTP server (aiosmtpd, in this process) that counts what it got.

"Once" is checked where users would notice: the in-app notifications stored, and the
emails that arrived at the SMTP server (not the rows that say they were sent).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.application.messaging.outbox_relay import OutboxRelay
from hduce.application.ports import Clock, EventPublisher, Outbox
from hduce.domain.events import DomainEvent
from hduce.domain.notifications import Channel
from tests.integration.brokers.support import (
    Clinic,
    Worker,
    clinic,
    unique_prefix,
    wait_until,
    workers,
)
from tests.integration.delivery.local_smtp import smtp_controller
from tests.services import ReceivedMail, RecordingHandler

URL_FIXTURES = {"rabbit": "rabbitmq_url", "kafka": "kafka_url"}
#: Bookings, emails and consumers on a loaded 2-core machine: generous.
DRAIN_TIMEOUT = 180.0


class PublishedTwice:
    """The real publisher, called twice for every event (what a relay that crashed
    between publishing and marking the row published, or a broker redelivering, does)."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher
        self.event_ids: list[UUID] = []

    async def publish(self, event: DomainEvent) -> None:
        await self._publisher.publish(event)
        await self._publisher.publish(event)
        self.event_ids.append(event.id)


class GatedMailbox(RecordingHandler):
    """Records mail like ``RecordingHandler`` while open; while closed it holds each
    message and then refuses it (451), never recording it: a client killed while held
    has delivered nothing."""

    def __init__(self, *, open_: bool) -> None:
        super().__init__()
        self.is_open = open_

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.is_open:
            return await super().handle_DATA(server, session, envelope)
        # Opened from the test's thread: an asyncio.Event of this loop would not do.
        while not self.is_open:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return "451 4.3.0 Try again later"


@contextmanager
def mailbox(handler: RecordingHandler) -> Iterator[dict[str, str]]:
    """An SMTP server of its own; yields the worker's environment for it."""
    with smtp_controller(handler) as port:
        yield {"HDUCE_SMTP_URL": f"smtp://127.0.0.1:{port}"}


def _letter(mail: ReceivedMail) -> tuple[tuple[str, ...], str, str]:
    """What a person sees of an email (not its Message-ID or Date)."""
    body = mail.message.get_body(preferencelist=("plain", "html"))
    content = body.get_content() if body is not None else ""
    return mail.rcpt_tos, str(mail.message["Subject"]), content


async def _email_rows(shop: Clinic, appointments: list[UUID] | None = None) -> list[Any]:
    """The email notifications about ``appointments`` (None: every one, the demo's too)."""
    wanted = None if appointments is None else {str(a) for a in appointments}
    engine = await shop.container.get(AsyncEngine)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT recipient_id, status, metadata->>'appointment_id' AS appointment "
                    "FROM notifications WHERE channel = 'email'"
                )
            )
        ).all()
    return [row for row in rows if wanted is None or row.appointment in wanted]


async def _in_app(shop: Clinic, appointments: list[UUID]) -> list[Any]:
    found = await shop.notifications_about(appointments)
    return [n for n in found if n.channel is Channel.IN_APP]


async def _settled(
    shop: Clinic, appointments: list[UUID], mail: RecordingHandler, relay: OutboxRelay
) -> bool:
    """Every notification stored and every email received; nothing left to relay or send."""
    expected = 2 * len(appointments)  # the patient and the doctor, for each booking
    if len(await _in_app(shop, appointments)) < expected:
        return False
    emails = await _email_rows(shop, appointments)
    if len(emails) < expected or any(row.status != "sent" for row in emails):
        return False
    sent = [row for row in await _email_rows(shop) if row.status == "sent"]
    return len(mail.messages) >= len(sent) and (await relay.stats()).backlog == 0


async def _assert_each_once(shop: Clinic, appointments: list[UUID], mail: RecordingHandler) -> None:
    in_app = await _in_app(shop, appointments)
    per_person = Counter((n.recipient_id, n.metadata["appointment_id"], n.title) for n in in_app)
    assert len(in_app) == 2 * len(appointments), len(in_app)
    assert set(per_person.values()) == {1}, per_person.most_common(3)
    emails = await _email_rows(shop, appointments)
    assert Counter((row.recipient_id, row.appointment) for row in emails) == {
        (who, str(a)): 1 for a in appointments for who in (shop.patient.id, shop.doctor.id)
    }
    # The server also got the demo's own emails: one each per row sent, no letter twice.
    sent = [row for row in await _email_rows(shop) if row.status == "sent"]
    received = Counter(_letter(m) for m in mail.messages)
    assert len(mail.messages) == len(sent), (len(mail.messages), len(sent))
    assert set(received.values()) == {1}, received.most_common(1)


def _handled_by_consumer(worker: Worker) -> Counter[tuple[str, str]]:
    return Counter(
        (line["consumer"], line["event_id"])
        for line in worker.lines()
        if line.get("event") == "event handled" and "event_id" in line
    )


@pytest.mark.parametrize("kind", ["rabbit", "kafka"])
async def test_every_event_published_twice_has_each_effect_once(
    kind: str, request: pytest.FixtureRequest, postgres_database: str, tmp_path: Path
) -> None:
    url = request.getfixturevalue(URL_FIXTURES[kind])
    mail = RecordingHandler()
    async with clinic(postgres_database, url, unique_prefix()) as shop:
        booked = await shop.book(5)
        relay = await shop.container.get(OutboxRelay)
        # The test relays the outbox itself, every event twice, before any worker runs:
        # the two copies sit side by side on the broker.
        twice = PublishedTwice(await shop.container.get(EventPublisher))  # type: ignore[type-abstract]
        doubling = OutboxRelay(
            await shop.container.get(Outbox),  # type: ignore[type-abstract]
            twice,
            await shop.container.get(Clock),  # type: ignore[type-abstract]
        )
        assert await doubling.drain() == len(twice.event_ids) >= len(booked)
        assert (await relay.stats()).backlog == 0

        with (
            mailbox(mail) as smtp,
            workers(1, tmp_path, shop, tmp_path / "metrics", env=smtp) as [worker],
        ):

            async def both_copies_handled() -> bool:
                handled = _handled_by_consumer(worker)
                seen = {event_id for _, event_id in handled}
                return seen >= {str(e) for e in twice.event_ids} and all(
                    count >= 2 for count in handled.values()
                )

            started = time.monotonic()
            await wait_until(
                both_copies_handled, timeout=DRAIN_TIMEOUT, what="both copies of every event"
            )
            await wait_until(
                lambda: _settled(shop, booked, mail, relay),
                timeout=DRAIN_TIMEOUT,
                what="every notification and email",
            )
            elapsed = time.monotonic() - started
            handled = _handled_by_consumer(worker)

        print(  # the figures worth quoting (pytest -s)
            f"{kind}: {len(twice.event_ids)} events x2, {sum(handled.values())} handled, "
            f"{len(mail.messages)} emails, drained in {elapsed:.1f} s"
        )
        assert set(handled.values()) == {2}, handled
        await _assert_each_once(shop, booked, mail)


async def test_a_worker_killed_mid_stream_loses_and_duplicates_nothing(
    rabbitmq_url: str, postgres_database: str, tmp_path: Path
) -> None:
    count = 30
    # Closed while the first worker lives: what it sends is held, then refused, so an
    # email is received only from a worker that also records it as sent.
    mail = GatedMailbox(open_=False)
    async with clinic(postgres_database, rabbitmq_url, unique_prefix()) as shop:
        booked = await shop.book(count)
        relay = await shop.container.get(OutboxRelay)
        with mailbox(mail) as smtp:
            with workers(1, tmp_path, shop, tmp_path / "metrics-a", env=smtp, name="a") as [first]:

                async def some_notified() -> bool:
                    return len(await _in_app(shop, booked)) > 0

                await wait_until(some_notified, timeout=DRAIN_TIMEOUT, what="first notifications")
                first.kill()
            at_kill = len(await _in_app(shop, booked))
            # A dead worker's email claims run out after DELIVERY_LEASE (5 minutes):
            # let that time pass.
            engine = await shop.container.get(AsyncEngine)
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE notifications SET claimed_until = now() - interval '1 second' "
                        "WHERE claimed_by IS NOT NULL"
                    )
                )
            mail.is_open = True
            with workers(1, tmp_path, shop, tmp_path / "metrics-b", env=smtp, name="b"):
                started = time.monotonic()
                await wait_until(
                    lambda: _settled(shop, booked, mail, relay),
                    timeout=DRAIN_TIMEOUT,
                    what="every notification and email after the restart",
                )
                elapsed = time.monotonic() - started

        print(  # the figures worth quoting (pytest -s)
            f"killed after {at_kill}/{2 * count} in-app notifications; "
            f"the second worker drained in {elapsed:.1f} s"
        )
        await _assert_each_once(shop, booked, mail)
