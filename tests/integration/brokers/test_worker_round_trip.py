"""Events through a real broker and real ``hduce worker`` processes, on RabbitMQ,
Kafka (tansu in tests), Redis Streams and NATS JetStream, with PostgreSQL.

The test process plays the API: it books through the use case, so the events wait
in the outbox; the workers relay them to the broker and consume them from it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hduce.adapters.messaging.consumers import (
    ATTEMPTS_HEADER,
    CONSUMER_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
)
from hduce.adapters.messaging.topology import BrokerKind
from hduce.application.messaging.outbox_relay import OutboxRelay
from hduce.domain import events
from tests.integration.brokers.support import (
    Clinic,
    RawBroker,
    clinic,
    metric,
    unique_prefix,
    wait_until,
    workers,
)

KINDS: list[BrokerKind] = ["rabbit", "kafka", "redis", "nats"]
URL_FIXTURES = {
    "rabbit": "rabbitmq_url",
    "kafka": "kafka_url",
    "redis": "redis_url",
    "nats": "nats_url",
}
#: What one booking request tells, in the app: (the patient, the doctor) titles.
REQUEST_TITLES = ("Appointment request submitted", "New appointment request")


@pytest.fixture(params=KINDS)
def broker(request: pytest.FixtureRequest) -> tuple[BrokerKind, str]:
    kind: BrokerKind = request.param
    return kind, request.getfixturevalue(URL_FIXTURES[kind])


def _in_app_titles(found: list, clinic: Clinic) -> Counter[tuple[str, str]]:  # type: ignore[type-arg]
    who = {clinic.patient.id: "patient", clinic.doctor.id: "doctor"}
    return Counter((who[n.recipient_id], n.title) for n in found if n.channel.value == "in_app")


async def _all_notified(clinic: Clinic, appointments: list) -> bool:  # type: ignore[type-arg]
    found = await clinic.notifications_about(appointments)
    in_app = [n for n in found if n.channel.value == "in_app"]
    return len(in_app) >= 2 * len(appointments)


async def test_a_booking_goes_through_the_broker_and_is_notified_exactly_once(
    broker: tuple[BrokerKind, str], postgres_database: str, tmp_path: Path
) -> None:
    _, url = broker
    async with clinic(postgres_database, url, unique_prefix()) as shop:
        [booked] = await shop.book()
        relay = await shop.container.get(OutboxRelay)
        assert (await relay.stats()).backlog > 0

        with workers(1, tmp_path, shop, tmp_path / "metrics-dir-1") as [worker]:
            await wait_until(lambda: _all_notified(shop, [booked]), what="notifications")
            await wait_until(
                lambda: _outbox_empty(relay), what="the outbox relayed through the broker"
            )

        found = await shop.notifications_about([booked])
        assert _in_app_titles(found, shop) == {
            ("patient", REQUEST_TITLES[0]): 1,
            ("doctor", REQUEST_TITLES[1]): 1,
        }
        keys = [n.dedupe_key for n in found]
        assert len(keys) == len(set(keys))
        assert len(worker.handled()) >= 1


async def _outbox_empty(relay: OutboxRelay) -> bool:
    return (await relay.stats()).backlog == 0


async def test_two_workers_share_the_events_as_competing_consumers(
    broker: tuple[BrokerKind, str], postgres_database: str, tmp_path: Path
) -> None:
    _, url = broker
    metrics_dir = tmp_path / "metrics"
    async with clinic(postgres_database, url, unique_prefix()) as shop:
        with workers(2, tmp_path, shop, metrics_dir) as pair:
            booked = []
            for _ in range(12):  # one at a time: both workers are waiting for work
                booked += await shop.book()
            await wait_until(lambda: _all_notified(shop, booked), what="every notification")

            # The notification consumer's share (the waitlist one also takes the clinic's
            # cancellations and rejections).
            handled = [event_id for worker in pair for event_id in worker.handled("notifications")]

        found = await shop.notifications_about(booked)
        assert _in_app_titles(found, shop) == {
            ("patient", REQUEST_TITLES[0]): 12,
            ("doctor", REQUEST_TITLES[1]): 12,
        }
        # Each event was handled by one worker, once; and both workers took a share.
        assert len(handled) == len(set(handled)) >= 12
        assert all(worker.handled() for worker in pair), [len(w.handled()) for w in pair]
        assert metric(
            metrics_dir,
            "hduce_events_consumed_total",
            consumer="notifications",
            outcome="processed",
        ) == len(handled)


async def test_a_poison_message_is_dead_lettered_and_the_next_events_are_handled(
    broker: tuple[BrokerKind, str], postgres_database: str, tmp_path: Path
) -> None:
    kind, url = broker
    prefix = unique_prefix()
    metrics_dir = tmp_path / "metrics"
    poison = b'{"type": "appointment.requested", "payload": "not an event"}'
    async with clinic(postgres_database, url, prefix) as shop:
        with workers(1, tmp_path, shop, metrics_dir):
            async with RawBroker(kind, url, prefix) as raw:
                await raw.publish_poison(poison, events.APPOINTMENT_REQUESTED)
                booked = await shop.book(2)
                letter = await raw.next_dead_letter()
                await wait_until(lambda: _all_notified(shop, booked), what="later events")

        assert letter.body == poison
        assert letter.headers[CONSUMER_HEADER] == "notifications"
        assert letter.headers[REASON_HEADER] == "malformed"
        assert letter.headers[ATTEMPTS_HEADER] == "0"
        assert letter.headers[ERROR_HEADER].startswith("MalformedEvent")
        assert (
            metric(
                metrics_dir,
                "hduce_events_dead_lettered_total",
                consumer="notifications",
                reason="malformed",
            )
            == 1
        )
        found = await shop.notifications_about(booked)
        assert sum(1 for n in found if n.channel.value == "in_app") == 4
