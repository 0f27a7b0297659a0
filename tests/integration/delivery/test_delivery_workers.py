"""Several workers deliver email and SMS together: each message arrives exactly once.

Every worker runs ``DeliverPendingNotifications`` with its own engine (its own
connections, like a separate ``hduce worker`` process) over one PostgreSQL or SQLite
database, all started at once with ``asyncio.gather``. What is counted is what the
local SMTP server and the local SMS API received, not rows: that is what a patient
would see. Then the crash window: a worker that dies holding its claim delays its
messages until the lease runs out, and another worker sends them then, once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.email import SmtpEmailSender
from hduce.adapters.memory import RecordingSmsSender
from hduce.adapters.sms.http import HttpSmsSender
from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.application.notifications.delivery import DELIVERY_LEASE, DeliverPendingNotifications
from hduce.bootstrap.settings import Settings
from hduce.domain import events
from hduce.domain.identity import Role, User
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel, DeliveryStatus, Notification
from tests import services
from tests.fakes import FixedClock
from tests.integration.delivery.sms_provider import LocalSmsProvider, serve
from tests.services import SmtpServer

WORKERS = 4
PEOPLE = 6
MESSAGES_EACH = 3  # per person and channel
BATCH = 4
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
FROM = "HDUCE <no-reply@hduce.example.org>"


@pytest.fixture(params=["postgresql", "sqlite"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgresql":
        admin_url = request.getfixturevalue("postgres_url")
        async with services.temporary_database(admin_url, prefix="hduce_delivery") as url:
            await upgrade_database(url)
            yield url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}"
        await upgrade_database(url)
        yield url


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """One engine per worker, plus one (the last) for the test's own reads and writes."""
    created = [create_engine(database_url, pool_size=3) for _ in range(WORKERS + 1)]
    try:
        yield created
    finally:
        for engine in created:
            await engine.dispose()


@pytest.fixture
def sms_provider() -> Iterator[LocalSmsProvider]:
    with serve(LocalSmsProvider()) as provider:
        yield provider


def email_sender(smtp_server: SmtpServer) -> SmtpEmailSender:
    settings = Settings.from_env({"HDUCE_SMTP_URL": smtp_server.url})
    assert settings.delivery.smtp is not None
    return SmtpEmailSender(settings.delivery.smtp, FROM, timeout=5)


def sms_sender(provider: LocalSmsProvider) -> HttpSmsSender:
    settings = Settings.from_env(
        {
            "HDUCE_SMS_API_URL": provider.api_url,
            "HDUCE_SMS_ACCOUNT_SID": provider.account_sid,
            "HDUCE_SMS_AUTH_TOKEN": provider.auth_token,
            "HDUCE_SMS_FROM": "+15005550006",
        }
    )
    assert settings.delivery.sms is not None
    return HttpSmsSender(settings.delivery.sms, timeout=5)


async def seed(
    uow_factory: SqlUnitOfWorkFactory, *, people: int, messages_each: int, sms: bool = True
) -> list[Notification]:
    """``people`` patients with a unique address (and phone), each with
    ``messages_each`` pending emails (and SMS) whose titles are unique."""
    tag = uuid.uuid4().hex[:10]
    created: list[Notification] = []
    async with uow_factory() as uow:
        for p in range(people):
            user = User(
                id=uuid7(),
                email=f"patient.{p}.{tag}@example.org",
                full_name=f"Patient {p}",
                role=Role.PATIENT,
                created_at=NOW,
                phone=f"+1555{int(tag[:6], 16) % 10_000:04d}{p:03d}" if sms else None,
            )
            await uow.users.add(user)
            channels = (Channel.EMAIL, Channel.SMS) if sms else (Channel.EMAIL,)
            for m in range(messages_each):
                for channel in channels:
                    notification = Notification(
                        id=uuid7(),
                        recipient_id=user.id,
                        type=events.APPOINTMENT_APPROVED,
                        title=f"Appointment approved {tag}-{p}-{m}",
                        message=f"Visit {m} of patient {p} is confirmed ({tag}).",
                        channel=channel,
                        created_at=NOW + timedelta(seconds=len(created)),
                        dedupe_key=f"{tag}:{p}:{m}:{channel}",
                    )
                    assert await uow.notifications.add(notification)
                    created.append(notification)
        await uow.commit()
    return created


async def stored(uow_factory: SqlUnitOfWorkFactory, ids: list[uuid.UUID]) -> list[Notification]:
    async with uow_factory() as uow:
        found = [await uow.notifications.get(notification_id) for notification_id in ids]
    assert all(n is not None for n in found)
    return [n for n in found if n is not None]


def duplicates(received: Counter[str]) -> dict[str, int]:
    return {key: count for key, count in received.items() if count > 1}


async def test_concurrent_workers_send_every_email_and_sms_exactly_once(
    engines: list[AsyncEngine], smtp_server: SmtpServer, sms_provider: LocalSmsProvider
) -> None:
    clock = FixedClock(NOW)
    *worker_engines, own_engine = engines
    own = SqlUnitOfWorkFactory(own_engine)
    created = await seed(own, people=PEOPLE, messages_each=MESSAGES_EACH)
    emails = [n for n in created if n.channel is Channel.EMAIL]
    texts = [n for n in created if n.channel is Channel.SMS]

    async def worker(engine: AsyncEngine) -> int:
        deliver = DeliverPendingNotifications(
            SqlUnitOfWorkFactory(engine), clock, email_sender(smtp_server), sms_sender(sms_provider)
        )
        sent = 0
        while sent_now := await deliver(batch_size=BATCH):
            sent += sent_now
        return sent

    counts = await asyncio.gather(*(worker(engine) for engine in worker_engines))

    # As the recipients see it: one mail per email notification, one text per SMS one.
    titles = {n.title for n in emails}
    received_mail = Counter(m.subject for m in smtp_server.messages if m.subject in titles)
    bodies = {n.message for n in texts}
    received_sms = Counter(s.body for s in sms_provider.messages() if s.body in bodies)
    assert (duplicates(received_mail), duplicates(received_sms)) == ({}, {}), (
        f"{len(duplicates(received_mail))} of {len(titles)} emails and "
        f"{len(duplicates(received_sms))} of {len(bodies)} SMS arrived more than once"
    )
    assert (set(received_mail), set(received_sms)) == (titles, bodies)  # none missing
    assert sum(counts) == len(created)
    after = await stored(own, [n.id for n in created])
    assert {(n.status, n.attempts, n.last_error) for n in after} == {(DeliveryStatus.SENT, 1, None)}


class Stuck:
    """A sender whose sends never return: its worker dies in the middle of one."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, *, to: str, body: str, subject: str = "") -> None:
        self.started.set()
        await asyncio.Event().wait()


async def test_a_dead_workers_claim_runs_out_and_another_worker_sends_once(
    engines: list[AsyncEngine], smtp_server: SmtpServer
) -> None:
    clock = FixedClock(NOW)
    own = SqlUnitOfWorkFactory(engines[-1])
    created = await seed(own, people=2, messages_each=2, sms=False)
    titles = Counter(n.title for n in created)

    def received() -> Counter[str]:
        return Counter(m.subject for m in smtp_server.messages if m.subject in titles)

    stuck = Stuck()
    dying = asyncio.create_task(
        DeliverPendingNotifications(SqlUnitOfWorkFactory(engines[0]), clock, stuck, stuck)()
    )
    await stuck.started.wait()
    dying.cancel()  # the worker dies mid-send, its claim on the whole batch committed
    with pytest.raises(asyncio.CancelledError):
        await dying
    survivor = DeliverPendingNotifications(
        SqlUnitOfWorkFactory(engines[1]), clock, email_sender(smtp_server), RecordingSmsSender()
    )

    assert await survivor() == 0  # the claim holds until its lease runs out
    assert received() == Counter()
    clock.advance(DELIVERY_LEASE)
    assert await survivor() == len(created)

    assert received() == titles  # each once
    after = await stored(own, [n.id for n in created])
    # The dead worker's attempt counts: as far as anyone knows, it reached the server.
    assert {(n.status, n.attempts, n.claimed_by) for n in after} == {(DeliveryStatus.SENT, 2, None)}
