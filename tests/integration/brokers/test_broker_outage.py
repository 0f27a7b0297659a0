"""The broker goes away mid-run and comes back: bookings go on meanwhile (their events
wait in the outbox), and once the broker is back every event has its effect once.

Real processes throughout: ``hduce api`` takes the bookings over HTTP, ``hduce worker``
relays and consumes, on PostgreSQL, with an SMTP server (aiosmtpd, in this process)
that counts what arrived. The outage:

* Kafka: a tansu broker of the test's own, killed (SIGKILL) and started again on
  the same port. It keeps its data in memory only (see ``outage.Tansu``), so it is
  killed once what it held was consumed: what is tested is the relay and the
  consumers coming back, not tansu's durability.
* RabbitMQ: the shared server stays up; a TCP proxy between the processes and it is
  cut (every connection dropped, new ones refused) while the worker is consuming,
  then restored.

Meanwhile ``GET /health/ready`` of the API names the broker down (200, ``degraded``), and up again
once it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.application.messaging.outbox_relay import OutboxRelay
from tests.e2e.server import clean_environment, running_server
from tests.integration.brokers.outage import TcpProxy, tansu
from tests.integration.brokers.support import (
    JWT_SECRET,
    Clinic,
    clinic,
    unique_prefix,
    wait_until,
    weekday_ahead,
    workers,
)
from tests.integration.delivery.local_smtp import smtp_controller
from tests.services import ReceivedMail, RecordingHandler

API = "/api/v1"
PASSWORD = "demo-password-0123"  # what ``support.clinic`` seeds the demo with
#: Bookings, reconnections and emails on a loaded 2-core machine: generous.
TIMEOUT = 180.0
#: How long the broker stays away at least: longer than RabbitMQ's reconnection
#: interval (5 s) and Kafka's consumer session (10 s).
OUTAGE_SECONDS = 15.0
#: How the worker's log line starts when the relay could not publish.
RELAY_REFUSED = "outbox relay: event bus refused an event"


# --------------------------------------------------------------------------- the run


class Run:
    """The API over HTTP, signed in as the clinic's patient, and what it booked."""

    def __init__(self, shop: Clinic, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.shop = shop
        self.client = client
        self.headers = headers
        self.booked: list[UUID] = []

    async def book(self, count: int) -> list[UUID]:
        """``count`` bookings with the doctor, on successive weekdays; each must be
        accepted, whatever the broker is doing."""
        made = []
        for _ in range(count):
            starts_at = datetime.combine(
                weekday_ahead(len(self.booked)), clock_time(12, 0), tzinfo=ZoneInfo("Europe/Madrid")
            )
            response = await self.client.post(
                f"{API}/appointments",
                headers=self.headers,
                json={
                    "doctor_id": str(self.shop.doctor.id),
                    "starts_at": starts_at.isoformat(),
                    "reason": "Check-up",
                },
            )
            assert response.status_code == 201, response.text
            made.append(UUID(response.json()["id"]))
            self.booked.append(made[-1])
        return made

    async def readiness(self) -> tuple[int, dict[str, Any]]:
        response = await self.client.get("/health/ready")
        return response.status_code, response.json()

    async def wait_ready(self, broker_up: bool) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        async def as_expected() -> bool:
            status, body = await self.readiness()
            seen.update(body)
            broker = body["checks"].get("broker", {})
            if broker_up:
                return status == 200 and broker.get("status") == "up"
            # The broker only degrades readiness: bookings go on meanwhile.
            return status == 200 and body["status"] == "degraded" and broker.get("status") == "down"

        await wait_until(
            as_expected,
            timeout=60,
            what=f"readiness with the broker {'up' if broker_up else 'down'}",
        )
        return seen


@contextmanager
def api_and_worker(
    shop: Clinic, workdir: Path, mail: RecordingHandler
) -> Iterator[tuple[str, Callable[[], list[str]]]]:
    """``hduce api`` and one ``hduce worker`` on the clinic's database and broker, the
    worker mailing to ``mail``; yields the API's base URL and the worker's log reader."""
    broker = shop.settings.broker
    assert broker is not None
    with smtp_controller(mail) as smtp_port:
        smtp = {"HDUCE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"}
        env = clean_environment(
            HDUCE_DATABASE_URL=shop.settings.database.url,
            HDUCE_BROKER_URL=broker.url,
            HDUCE_BROKER_PREFIX=broker.prefix,
            HDUCE_JWT_SECRET=JWT_SECRET,
        )
        with (
            workers(1, workdir, shop, workdir / "metrics", env=smtp) as [worker],
            running_server(workdir, env, command="api") as base_url,
        ):
            yield base_url, lambda: [line.get("event", "") for line in worker.lines()]


# --------------------------------------------------------------------------- effects


async def _events_of(shop: Clinic, appointments: list[UUID]) -> dict[str, str]:
    """The outbox's events about ``appointments``: event id -> appointment id."""
    engine = await shop.container.get(AsyncEngine)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT id, aggregate_id FROM outbox WHERE type = 'appointment.requested'")
            )
        ).all()
    wanted = {str(a) for a in appointments}
    return {str(r.id): str(r.aggregate_id) for r in rows if str(r.aggregate_id) in wanted}


async def _notifications(shop: Clinic) -> list[Any]:
    engine = await shop.container.get(AsyncEngine)
    async with engine.connect() as connection:
        return list(
            (
                await connection.execute(
                    text(
                        "SELECT recipient_id, channel, status, "
                        "metadata->>'event_id' AS event_id FROM notifications"
                    )
                )
            ).all()
        )


def _letter(mail: ReceivedMail) -> tuple[tuple[str, ...], str, str]:
    """What a person sees of an email (not its Message-ID or Date)."""
    body = mail.message.get_body(preferencelist=("plain", "html"))
    content = body.get_content() if body is not None else ""
    return mail.rcpt_tos, str(mail.message["Subject"]), content


def _expected_effects(shop: Clinic) -> list[tuple[str, UUID]]:
    """What each booking's event leads to: (channel, recipient)."""
    patient, doctor = shop.patient.id, shop.doctor.id
    # The clinic's patient has a phone: an SMS too (logged: no SMS provider is set).
    return [
        ("in_app", patient),
        ("in_app", doctor),
        ("email", patient),
        ("email", doctor),
        ("sms", patient),
    ]


async def _settled(run: Run, mail: RecordingHandler, relay: OutboxRelay) -> bool:
    """Every booking's notifications stored and its emails received; nothing left to
    relay or to send."""
    events = await _events_of(run.shop, run.booked)
    if len(events) < len(run.booked) or (await relay.stats()).backlog:
        return False
    rows = await _notifications(run.shop)
    ours = [row for row in rows if row.event_id in events]
    if len(ours) < len(_expected_effects(run.shop)) * len(events) or any(
        row.status != "sent" for row in ours
    ):
        return False
    sent = [row for row in rows if row.channel == "email" and row.status == "sent"]
    return len(mail.messages) >= len(sent)


async def _assert_each_effect_once(run: Run, mail: RecordingHandler) -> None:
    shop = run.shop
    events = await _events_of(shop, run.booked)
    assert sorted(events.values()) == sorted(str(a) for a in run.booked)
    rows = await _notifications(shop)
    per_event = Counter(
        (row.event_id, row.channel, UUID(str(row.recipient_id)))
        for row in rows
        if row.event_id in events
    )
    assert per_event == {
        (event_id, channel, who): 1
        for event_id in events
        for channel, who in _expected_effects(shop)
    }
    # The SMTP server also got the demo's emails: one letter per row sent, none twice.
    sent = [row for row in rows if row.channel == "email" and row.status == "sent"]
    received = Counter(_letter(m) for m in mail.messages)
    assert len(mail.messages) == len(sent), (len(mail.messages), len(sent))
    assert set(received.values()) == {1}, received.most_common(1)
    patient = shop.patient.email
    assert sum(1 for m in mail.messages if patient in m.rcpt_tos) >= len(events)


# --------------------------------------------------------------------------- the tests


async def _through_an_outage(
    shop: Clinic, workdir: Path, cut: Callable[[], None], restore: Callable[[], None]
) -> str:
    """Book, ``cut`` while the worker relays and consumes, book on, ``restore``, book
    again; then every booking's event must have had each of its effects once. Returns
    the figures worth quoting."""
    mail = RecordingHandler()
    relay = await shop.container.get(OutboxRelay)
    with api_and_worker(shop, workdir, mail) as (base_url, worker_events):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            run = Run(shop, client, await _sign_in(client, shop.patient.email))
            await run.wait_ready(broker_up=True)
            before = await run.book(20)

            async def some_notified() -> bool:
                events = await _events_of(shop, before)
                return any(row.event_id in events for row in await _notifications(shop))

            await wait_until(some_notified, timeout=TIMEOUT, what="first notifications")
            cut()
            down = time.monotonic()
            body = await run.wait_ready(broker_up=False)
            assert body["checks"]["database"]["status"] == "up", body
            during = await run.book(5)
            # Long enough for reconnection attempts to fail and consumer sessions to
            # expire; meanwhile nothing reaches the broker: the events wait in the outbox.
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
            assert (await relay.stats()).backlog >= len(during)
            restore()
            outage = time.monotonic() - down
            await run.wait_ready(broker_up=True)
            await run.book(2)
            started = time.monotonic()
            await wait_until(lambda: _settled(run, mail, relay), timeout=TIMEOUT, what="after")
            elapsed = time.monotonic() - started
            refused = sum(1 for e in worker_events() if e.startswith(RELAY_REFUSED))
    await _assert_each_effect_once(run, mail)
    return (
        f"{len(run.booked)} bookings, outage {outage:.1f} s, every effect {elapsed:.1f} s "
        f"after it, {len(mail.messages)} emails, {refused} relay attempts refused"
    )


async def test_kafka_broker_stopped_mid_stream_loses_and_duplicates_nothing(
    postgres_database: str, tmp_path: Path
) -> None:
    with tansu(tmp_path) as broker:
        async with clinic(postgres_database, broker.url, unique_prefix()) as shop:
            figures = await _through_an_outage(shop, tmp_path, broker.pause, broker.resume)
    print(f"kafka (tansu stopped): {figures}")  # the figures worth quoting (pytest -s)


async def test_rabbitmq_connection_cut_mid_stream_loses_and_duplicates_nothing(
    rabbitmq_url: str, postgres_database: str, tmp_path: Path
) -> None:
    upstream = urlsplit(rabbitmq_url)
    with TcpProxy(upstream.hostname or "127.0.0.1", upstream.port or 5672) as proxy:
        through_proxy = upstream._replace(
            netloc=f"{upstream.netloc.rsplit(':', 1)[0]}:{proxy.port}"
        ).geturl()
        async with clinic(postgres_database, through_proxy, unique_prefix()) as shop:
            figures = await _through_an_outage(shop, tmp_path, proxy.cut, proxy.restore)
        connections = proxy.accepted
    # The API and the worker reconnected through the proxy: it was not bypassed.
    assert connections >= 4, connections
    print(f"rabbitmq (connections cut): {figures}, {connections} connections accepted")


async def _sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # bearer only (see tests/e2e/harness.py, ``session``)
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
