"""What the split-deployment test (``test_split_deployment.py``) runs and watches: a
clinic seeded straight into the stores, ``hduce worker`` processes each with a
metrics directory of its own (so each one's counters can be read apart), a client
following a person's notification stream, the inbox read over HTTP, and what the
local SMTP server and SMS API received, keyed the way a person tells messages apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from hduce.adapters.security.passwords import Argon2Parameters
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Role, User
from hduce.domain.ids import uuid7
from tests.e2e.harness import (
    NOTIFICATIONS,
    issued_headers,
    sse_events,
    store_doctor,
    store_specialty,
    store_user,
)
from tests.e2e.server import hduce_command
from tests.integration.delivery.sms_provider import ReceivedSms
from tests.metrics import multiprocess_sum
from tests.services import ReceivedMail

# ------------------------------------------------------------------ the clinic


@dataclass
class SplitClinic:
    """Patients and doctors (UTC, Monday-Friday 08:00-18:00, 30-minute visits) and
    bearer headers for each, issued with the deployment's JWT secret."""

    patients: list[User]
    doctors: list[User]
    headers: dict[UUID, dict[str, str]] = field(default_factory=dict)

    @property
    def people(self) -> list[User]:
        return [*self.patients, *self.doctors]


async def seed_clinic(
    settings_env: Mapping[str, str], *, patients: int, doctors: int, doctor_phones: int
) -> SplitClinic:
    """Accounts stored directly (no registration: no welcome email to count). Every
    patient has a phone; the first ``doctor_phones`` doctors too."""
    container = build_container(
        Settings.from_env(dict(settings_env)), hasher_parameters=Argon2Parameters.for_tests()
    )
    try:
        now = datetime.now(UTC)
        tag = uuid7().hex[-8:]
        number = int(tag[-4:], 16) % 10_000

        def person(role: Role, index: int, phone: bool) -> User:
            return User(
                id=uuid7(),
                email=f"{role.value}.{index}.{tag}@example.org",
                full_name=f"Split {role.value.title()} {index} {tag}",
                role=role,
                created_at=now,
                phone=f"+1555{number:04d}{index:03d}" if phone else None,
                email_verified_at=now,  # booking may require a proven address
            )

        clinic = SplitClinic(
            patients=[
                await store_user(container, person(Role.PATIENT, i, True)) for i in range(patients)
            ],
            doctors=[
                await store_user(container, person(Role.DOCTOR, 100 + i, i < doctor_phones))
                for i in range(doctors)
            ],
        )
        specialty = await store_specialty(container, f"Split {tag}")
        for doctor in clinic.doctors:
            await store_doctor(container, doctor, specialty_id=specialty)
        for user in clinic.people:
            clinic.headers[user.id] = await issued_headers(container, user, now)
        return clinic
    finally:
        await container.close()


def first_free_weekday(after: datetime, days_ahead: int = 3) -> datetime:
    """08:00 UTC on the first weekday ``days_ahead`` days or more after ``after``:
    far from the minimum notice and from the 24 h reminder."""
    day = (after + timedelta(days=days_ahead)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


# ------------------------------------------------------------------ workers


@dataclass
class WorkerProcess:
    """One ``hduce worker``; its Prometheus counters are written to a directory of
    its own, so what this worker did can be told from what the other did."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for raw in self.log().splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(raw))
        return found

    def started(self) -> bool:
        return any(line.get("event") == "worker started" for line in self.lines())

    def alive(self) -> bool:
        return self.process.poll() is None

    def counter(self, name: str, **labels: str) -> float:
        return multiprocess_sum(self.metrics_dir, name, **labels)

    def consumed(self) -> float:
        """Events this worker's notification consumer handled."""
        return self.counter(
            "hduce_events_consumed_total", consumer="notifications", outcome="processed"
        )

    def sent(self, channel: str) -> float:
        return self.counter("hduce_notifications_sent_total", channel=channel, status="sent")


@contextlib.contextmanager
def worker_processes(
    count: int, workdir: Path, env: Mapping[str, str]
) -> Iterator[list[WorkerProcess]]:
    """``count`` ``hduce worker`` processes, yielded as soon as they are spawned (the
    caller starts the API meanwhile, then waits with ``wait_started``). Any still
    running at the end is stopped as ``stop`` does."""
    spawned: list[WorkerProcess] = []
    try:
        for n in range(count):
            metrics_dir = workdir / f"worker-{n}-metrics"
            metrics_dir.mkdir()
            log_path = workdir / f"worker-{n}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [*hduce_command(), "worker"],
                    cwd=workdir,
                    env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            spawned.append(WorkerProcess(f"worker-{n}", process, log_path, metrics_dir))
    except BaseException:
        stop(spawned, check=False)
        raise
    try:
        yield spawned
    except BaseException:
        stop(spawned, check=False)  # the test's own error is the one to report
        raise
    stop(spawned)


def wait_started(workers: list[WorkerProcess], *, timeout: float = 90.0) -> None:
    """Until each worker logged that it started (it consumes from the broker)."""
    deadline = time.monotonic() + timeout
    while not all(worker.started() for worker in workers):
        for worker in workers:
            if not worker.alive():
                raise AssertionError(f"{worker.name} exited early:\n{worker.log()}")
        if time.monotonic() > deadline:
            logs = "\n".join(worker.log() for worker in workers)
            raise AssertionError(f"workers not started within {timeout} s:\n{logs}")
        time.sleep(0.2)


def stop(workers: list[WorkerProcess], *, check: bool = True) -> None:
    """SIGTERM to each worker still running; each must exit cleanly (status 0) within
    30 s (``check``)."""
    running = [worker for worker in workers if worker.alive()]
    for worker in running:
        worker.process.send_signal(signal.SIGTERM)
    for worker in running:
        try:
            code = worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
            if check:
                raise AssertionError(f"{worker.name} ignored SIGTERM:\n{worker.log()}") from None
            continue
        assert code == 0 or not check, f"{worker.name} exited with {code}:\n{worker.log()}"


# ------------------------------------------------------------------ the notification stream


@dataclass
class StreamWatcher:
    """A client on ``GET /notifications/stream``, collecting the ids of the
    notifications it is pushed. It does not reconnect: a stream that ends early is
    reported (``ended``), since every notification must arrive on the one stream."""

    client: httpx.AsyncClient
    headers: Mapping[str, str]
    ids: list[str] = field(default_factory=list)
    ended: bool = False
    status: int | None = None

    def __post_init__(self) -> None:
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def _follow(self) -> None:
        try:
            async with self.client.stream(
                "GET",
                f"{NOTIFICATIONS}/stream",
                headers=dict(self.headers),
                # Keep-alives come after 15 s of silence; a read waits longer than that.
                timeout=httpx.Timeout(10.0, read=60.0),
            ) as response:
                self.status = response.status_code
                if response.status_code != 200:
                    return
                async for event in sse_events(response):
                    if event.event == "ready":
                        self._ready.set()
                    elif event.event == "notification":
                        assert event.id is not None
                        assert json.loads(event.data)["id"] == event.id
                        self.ids.append(event.id)
                        self._changed.set()
        finally:
            # Not when the test closes it: only an end the server chose counts.
            self.ended = not self._closing
            self._ready.set()
            self._changed.set()

    @contextlib.asynccontextmanager
    async def open(self, timeout: float = 60.0) -> AsyncIterator[StreamWatcher]:
        """Connected and subscribed (``event: ready``) for the length of the block."""
        self._task = asyncio.create_task(self._follow())
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
            if self._task.done():
                self._task.result()  # raise what ended it
            assert not self.ended, f"the stream ended at once (HTTP {self.status})"
            yield self
        finally:
            self._closing = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(self, wanted: set[str], timeout: float) -> None:
        """Until every id of ``wanted`` came on the stream (or it ended)."""
        async with asyncio.timeout(timeout):
            while not wanted <= set(self.ids) and not self.ended:
                self._changed.clear()
                await self._changed.wait()


# ------------------------------------------------------------------ the inbox over HTTP


async def inbox(
    client: httpx.AsyncClient, headers: Mapping[str, str]
) -> tuple[int, list[dict[str, Any]]]:
    """A person's stored notifications, every page of ``GET /notifications``: the
    total it reports and the items."""
    items: list[dict[str, Any]] = []
    while True:
        response = await client.get(
            NOTIFICATIONS, params={"limit": 100, "offset": len(items)}, headers=dict(headers)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return int(page["total"]), items


# ------------------------------------------------------------------ what the outside received


def letter(mail: ReceivedMail) -> tuple[tuple[str, ...], str, str]:
    """An email as its reader tells it apart: recipients, subject and text (the text
    names the other party and the time, so two visits never share one)."""
    return mail.rcpt_tos, mail.subject, mail.text().strip()


def text_message(sms: ReceivedSms) -> tuple[str, str]:
    return sms.to, sms.body


def repeated(counts: Counter[Any]) -> dict[Any, int]:
    return {key: count for key, count in counts.items() if count > 1}
