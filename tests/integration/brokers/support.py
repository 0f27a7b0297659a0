"""What the broker round trips share: a seeded clinic on PostgreSQL, bookings,
``hduce worker`` subprocesses, and raw access to the broker (poison messages, dead
letters) with FastStream."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from dishka import AsyncContainer
from faststream.kafka import KafkaBroker
from faststream.nats import NatsBroker, PullSub
from faststream.rabbit import RabbitBroker
from faststream.redis import RedisBroker, StreamSub

from hduce.adapters.messaging.brokers import (
    nats_dead_letter_stream,
    nats_stream,
    rabbit_exchange,
    rabbit_queue,
)
from hduce.adapters.messaging.topology import BrokerKind, Topology
from hduce.adapters.security.passwords import Argon2Parameters
from hduce.adapters.sql import upgrade_database
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.demo import SeedDemo
from hduce.application.ports import PageRequest, UnitOfWorkFactory, UserQuery
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Role, User
from hduce.domain.notifications import Notification
from tests.e2e.server import clean_environment, hduce_command
from tests.metrics import multiprocess_sum
from tests.services import kafka_bootstrap_servers

JWT_SECRET = "broker-round-trip-secret-0123456789abcdef"


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 60.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.25)


# --------------------------------------------------------------------------- the clinic


@dataclass
class Clinic:
    """A seeded database and the API side of it (the test books, workers consume)."""

    settings: Settings
    container: AsyncContainer
    uow_factory: UnitOfWorkFactory
    patient: User
    doctor: User
    booked: list[UUID] = field(default_factory=list)

    async def book(self, count: int = 1) -> list[UUID]:
        """``count`` requests of the patient with the doctor, on successive weekdays."""
        book = await self.container.get(BookAppointment)
        made = []
        for _ in range(count):
            starts_at = datetime.combine(
                weekday_ahead(len(self.booked)), clock_time(12, 0), tzinfo=ZoneInfo("Europe/Madrid")
            )
            appointment = await book(
                BookAppointmentCommand(
                    actor=self.patient.actor,
                    doctor_id=self.doctor.id,
                    starts_at=starts_at,
                    reason="Check-up",
                )
            )
            self.booked.append(appointment.id)
            made.append(appointment.id)
        return made

    async def notifications_about(self, appointments: list[UUID]) -> list[Notification]:
        wanted = {str(a) for a in appointments}
        async with self.uow_factory() as uow:
            found = [
                *(await uow.notifications.list_for(self.patient.id, page=PageRequest(500))).items,
                *(await uow.notifications.list_for(self.doctor.id, page=PageRequest(500))).items,
            ]
        return [n for n in found if n.metadata.get("appointment_id") in wanted]


def weekday_ahead(index: int) -> date:
    """The ``index``-th weekday (0 = first) from a week ahead."""
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    seen = -1
    while True:
        if day.weekday() < 5:
            seen += 1
            if seen == index:
                return day
        day += timedelta(days=1)


@asynccontextmanager
async def clinic(database_url: str, broker_url: str, prefix: str) -> AsyncIterator[Clinic]:
    await upgrade_database(database_url)
    settings = Settings.from_env(
        {
            "HDUCE_DATABASE_URL": database_url,
            "HDUCE_BROKER_URL": broker_url,
            "HDUCE_BROKER_PREFIX": prefix,
            "HDUCE_JWT_SECRET": JWT_SECRET,
        }
    )
    container = build_container(settings, hasher_parameters=Argon2Parameters.for_tests())
    try:
        await (await container.get(SeedDemo))("demo-password-0123")
        uow_factory = await container.get(UnitOfWorkFactory)  # type: ignore[type-abstract]
        async with uow_factory() as uow:
            patients = (
                await uow.users.list(UserQuery(role=Role.PATIENT, page=PageRequest(100)))
            ).items
            doctors = (
                await uow.users.list(UserQuery(role=Role.DOCTOR, page=PageRequest(100)))
            ).items
        patient = next(p for p in patients if p.phone)
        doctor = next(d for d in doctors if d.timezone == "Europe/Madrid")
        yield Clinic(settings, container, uow_factory, patient, doctor)
    finally:
        await container.close()


# --------------------------------------------------------------------------- workers


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    killed: bool = False

    def kill(self) -> None:
        """SIGKILL: no shutdown at all (``workers`` then expects no clean exit from it)."""
        self.killed = True
        self.process.kill()
        self.process.wait(timeout=30)

    def lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        return lines

    def handled(self, consumer: str | None = None) -> list[str]:
        """The event ids this worker's consumers (or only ``consumer``) handled, in order
        (an event several consumers react to is listed once per consumer)."""
        return [
            line["event_id"]
            for line in self.lines()
            if line.get("event") == "event handled"
            and "event_id" in line
            and consumer in (None, line.get("consumer"))
        ]

    def started(self) -> bool:
        return any(line.get("event") == "worker started" for line in self.lines())


@contextmanager
def workers(
    count: int,
    workdir: Path,
    clinic: Clinic,
    metrics_dir: Path,
    *,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    name: str = "",
) -> Iterator[list[Worker]]:
    """``count`` ``hduce worker`` processes (``env``: more variables), yielded once each
    has started consuming; at the end each one not killed gets SIGTERM and must stop
    cleanly."""
    broker = clinic.settings.broker
    assert broker is not None
    metrics_dir.mkdir(exist_ok=True)
    env = clean_environment(
        HDUCE_DATABASE_URL=clinic.settings.database.url,
        HDUCE_BROKER_URL=broker.url,
        HDUCE_BROKER_PREFIX=broker.prefix,
        HDUCE_JWT_SECRET=JWT_SECRET,
        HDUCE_LOG_FORMAT="json",
        HDUCE_LOG_LEVEL="DEBUG",
        HDUCE_OUTBOX_POLL_INTERVAL="0.2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        **(env or {}),
    )
    started: list[Worker] = []
    try:
        for n in range(count):
            log_path = workdir / f"worker-{broker.prefix}{name}-{n}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [*hduce_command(), "worker"],
                    cwd=workdir,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            started.append(Worker(process, log_path))
        deadline = time.monotonic() + timeout
        while not all(w.started() for w in started):
            for worker in started:
                if worker.process.poll() is not None:
                    raise AssertionError(f"worker exited early:\n{worker.log_path.read_text()}")
            if time.monotonic() > deadline:
                logs = "\n".join(w.log_path.read_text() for w in started)
                raise AssertionError(f"workers not started within {timeout} s:\n{logs}")
            time.sleep(0.2)
        yield started
    finally:
        alive = [worker for worker in started if not worker.killed]
        for worker in alive:
            worker.process.send_signal(signal.SIGTERM)
        for worker in alive:
            try:
                code = worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
                raise AssertionError(
                    f"a worker ignored SIGTERM:\n{worker.log_path.read_text()}"
                ) from None
            assert code == 0, worker.log_path.read_text()


def metric(metrics_dir: Path, name: str, **labels: str) -> float:
    """A counter summed over every worker process (PROMETHEUS_MULTIPROC_DIR)."""
    return multiprocess_sum(metrics_dir, name, **labels)


# --------------------------------------------------------------------------- the broker, raw


@dataclass
class DeadLetter:
    body: bytes
    headers: dict[str, Any]


class RawBroker:
    """FastStream, used directly: a poison message into the events, the dead letters out."""

    def __init__(self, kind: BrokerKind, url: str, prefix: str) -> None:
        self.kind = kind
        self.topology = Topology(prefix=prefix)
        self.dead_letters = self.topology.dead_letters(kind, "notifications")
        if kind == "rabbit":
            self.broker: Any = RabbitBroker(url)
            self.reader: Any = self.broker.subscriber(rabbit_queue(self.dead_letters))
        elif kind == "kafka":
            self.broker = KafkaBroker(kafka_bootstrap_servers(url))
            self.reader = self.broker.subscriber(
                self.dead_letters,
                group_id=f"{prefix}.test-reader",
                auto_offset_reset="earliest",
            )
        elif kind == "redis":
            self.broker = RedisBroker(url)
            self.reader = self.broker.subscriber(stream=StreamSub(self.dead_letters, last_id="0"))
        else:
            self.broker = NatsBroker(url)
            self.reader = self.broker.subscriber(
                self.dead_letters,
                stream=nats_dead_letter_stream(self.topology),
                pull_sub=PullSub(timeout=1.0),
                durable=f"{prefix}-test-reader",
            )

    async def __aenter__(self) -> RawBroker:
        await self.broker.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()

    async def publish_poison(self, body: bytes, event_type: str) -> None:
        """``body`` where ``event_type`` events travel."""
        topology = self.topology
        if self.kind == "rabbit":
            await self.broker.publish(
                body, exchange=rabbit_exchange(topology), routing_key=event_type
            )
        elif self.kind == "kafka":
            await self.broker.publish(body, topic=topology.topic(event_type))
        elif self.kind == "redis":
            await self.broker.publish(body, stream=topology.topic(event_type))
        else:
            await self.broker.publish(
                body, subject=topology.subject(event_type), stream=nats_stream(topology).name
            )

    async def next_dead_letter(self, timeout: float = 30.0) -> DeadLetter:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = await self.reader.get_one(timeout=2.0)
            if message is not None:
                await message.ack()
                return DeadLetter(message.body, dict(message.headers))
        raise AssertionError(f"no dead letter on {self.dead_letters} within {timeout} s")
