"""Commit -> SSE latency in the split deployment (PostgreSQL + Redis), as processes.

Starts ``hduce api`` and ``hduce worker`` on a throwaway database with a 10 s outbox
poll (so only the commit wake-ups can make it fast), opens the doctor's
``/notifications/stream`` on the API, books ``--bookings`` appointments one after
the other and prints, per booking, the time from the booking's response (its
transaction committed just before) to the doctor's notification on the stream:
worker woken by NOTIFY, relay, notification stored, Redis pub/sub, API, SSE.

    uv run python bench/commit_to_sse.py [--bookings N] [--admin-url URL] [--redis-url URL]

URLs default to $HDUCE_TEST_POSTGRES_URL / $HDUCE_TEST_REDIS_URL, then local servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from hduce.adapters.security.passwords import Argon2Parameters
from hduce.adapters.sql import upgrade_database
from hduce.application.ports import AccessTokenIssuer, UnitOfWorkFactory
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.identity import Role, User
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import LocalInterval, WeeklyHours

ALWAYS = WeeklyHours({day: (LocalInterval(clock_time(0), clock_time(0)),) for day in range(7)})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    hduce = Path(sys.executable).with_name("hduce")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(hduce), command], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def seed(settings: Settings) -> tuple[User, User]:
    container = build_container(settings, hasher_parameters=Argon2Parameters.for_tests())
    try:
        uow_factory = await container.get(UnitOfWorkFactory)
        now = datetime.now(UTC)
        patient, doctor = (
            User(
                id=uuid7(),
                email=f"{role.value}-{uuid7().hex}@bench.local",
                full_name=f"Bench {role.value}",
                role=role,
                created_at=now,
                email_verified_at=now,  # booking may require a proven address
            )
            for role in (Role.PATIENT, Role.DOCTOR)
        )
        specialty = Specialty(id=uuid7(), name="Bench")
        async with uow_factory() as uow:
            await uow.users.add(patient)
            await uow.users.add(doctor)
            await uow.specialties.add(specialty)
            await uow.doctors.add(
                Doctor(
                    user_id=doctor.id,
                    licence_number="LIC-BENCH",
                    specialty_id=specialty.id,
                    timezone="UTC",
                    visit_minutes=10,
                )
            )
            await uow.availability.replace_weekly(doctor.id, ALWAYS)
            await uow.commit()
        return patient, doctor
    finally:
        await container.close()


async def notifications(response: httpx.Response) -> AsyncIterator[float]:
    """The arrival time of each ``notification`` event."""
    event = None
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line == "":
            if event == "notification":
                yield time.perf_counter()
            event = None


async def main(bookings: int, admin_url: str, redis_url: str) -> None:
    name = f"hduce_bench_{uuid4().hex[:8]}"
    admin = make_url(admin_url)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await upgrade_database(url)
        env_settings = {
            "HDUCE_DATABASE_URL": url,
            "HDUCE_REDIS_URL": redis_url,
            "HDUCE_JWT_SECRET": secrets.token_hex(32),
            "HDUCE_OUTBOX_POLL_INTERVAL": "10",
            "HDUCE_LOG_LEVEL": "WARNING",
        }
        settings = Settings.from_env(env_settings)
        patient, doctor = await seed(settings)
        container = build_container(settings)  # tokens signed with the shared secret
        tokens = await container.get(AccessTokenIssuer)
        now = datetime.now(UTC)
        patient_auth, doctor_auth = (
            {"Authorization": "Bearer " + tokens.issue(user_id=u.id, role=u.role, now=now).token}
            for u in (patient, doctor)
        )
        await container.close()

        port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("HDUCE_")}
        env = base | env_settings | {"HDUCE_HTTP_PORT": str(port)}
        logs = Path(tempfile.mkdtemp(prefix="hduce-bench-"))
        processes.append(start("api", env, logs / "api.log"))
        processes.append(start("worker", env, logs / "worker.log"))
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            for _ in range(150):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # let the worker connect its LISTEN
            first = datetime.combine((now + timedelta(days=2)).date(), clock_time(0), tzinfo=UTC)
            async with client.stream(
                "GET", "/api/v1/notifications/stream", headers=doctor_auth
            ) as response:
                arrivals = notifications(response)
                committed: list[float] = []
                latencies: list[float] = []
                for n in range(bookings + 1):
                    booked = await client.post(
                        "/api/v1/appointments",
                        json={
                            "doctor_id": str(doctor.id),
                            "starts_at": (first + n * timedelta(minutes=10)).isoformat(),
                        },
                        headers=patient_auth,
                    )
                    assert booked.status_code == 201, booked.text
                    committed.append(time.perf_counter())
                    arrived = await asyncio.wait_for(anext(arrivals), 30)
                    if n:  # the first one warms up every connection on the way
                        latencies.append((arrived - committed[-1]) * 1000)
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            json.dumps(
                {
                    "bookings": len(latencies),
                    "poll_interval_s": 10,
                    "commit_to_sse_ms": {
                        "p50": round(statistics.median(latencies), 1),
                        "p99": round(p99, 1),
                        "max": round(latencies[-1], 1),
                        "mean": round(statistics.fmean(latencies), 1),
                    },
                },
                indent=2,
            )
        )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "HDUCE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("HDUCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.bookings, arguments.admin_url, arguments.redis_url))
