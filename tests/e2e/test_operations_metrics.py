"""Metrics as an operator scrapes them, from real processes started with ``hduce``:

* ``hduce api --workers 2`` with no metrics setting at all: every scrape of /metrics
  on the HTTP port counts every request, whichever worker answered the scrape (ADR
  0011: a private multiprocess directory);
* ``hduce api`` and ``hduce worker`` on PostgreSQL and Redis: a booking, a conflict, a
  booking out of hours, an approval, a failed sign-in and a notification stream move
  the API's counters; the
  worker's own /metrics (``HDUCE_WORKER_HTTP_PORT``) shows the events it relayed and
  consumed and the emails it sent.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from hduce.domain.ids import uuid7
from tests.e2e.harness import APPOINTMENTS, SECRET, iso
from tests.e2e.server import (
    clean_environment,
    free_port,
    run_command,
    running_server,
    running_worker,
)
from tests.e2e.split_support import StreamWatcher, first_free_weekday, seed_clinic
from tests.integration.brokers.support import wait_until
from tests.metrics import scraped_sum

API = "/api/v1"


def _multiprocess_writers(tmp_path: Path) -> set[str]:
    """The processes that wrote metric files in the server's private directory."""
    return {path.stem.rsplit("_", 1)[1] for path in tmp_path.glob("hduce-metrics-*/*.db")}


def test_every_scrape_of_two_workers_counts_every_request(tmp_path: Path) -> None:
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        HDUCE_HTTP_WORKERS="2",
        TMPDIR=str(tmp_path),  # where the server makes its private metrics directory
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    run_command(["db", "upgrade"], env, tmp_path)

    with running_server(tmp_path, env, command="api", timeout=90) as base_url:
        with httpx.Client(base_url=base_url) as client:
            # Until both workers counted a request (the second may start later).
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(_multiprocess_writers(tmp_path)) < 2:
                client.get("/health", headers={"Connection": "close"})
            before = scraped_sum(
                client.get("/metrics").text, "hduce_requests_total", path="/health"
            )
            for _ in range(30):  # new connections: spread over the workers
                assert client.get("/health", headers={"Connection": "close"}).status_code == 200
            time.sleep(0.5)  # a worker counts a request just after answering it
            scrapes = [
                scraped_sum(
                    client.get("/metrics", headers={"Connection": "close"}).text,
                    "hduce_requests_total",
                    path="/health",
                )
                - before
                for _ in range(8)
            ]
        writers = _multiprocess_writers(tmp_path)

    assert len(writers) >= 2, writers  # both workers counted
    assert scrapes == [30.0] * 8
    assert not list(tmp_path.glob("hduce-metrics-*"))  # removed with the server


async def test_bookings_move_the_api_counters_and_events_the_workers(
    postgres_database: str, redis_url: str, tmp_path: Path
) -> None:
    worker_port = free_port()
    settings_env = {
        "HDUCE_ENV": "production",
        "HDUCE_DATABASE_URL": postgres_database,
        "HDUCE_REDIS_URL": redis_url,
        "HDUCE_JWT_SECRET": SECRET,
    }
    env = clean_environment(**settings_env)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    run_command(["db", "upgrade"], env, tmp_path)
    clinic = await seed_clinic(settings_env, patients=2, doctors=1, doctor_phones=0)
    [first, second], [doctor] = clinic.patients, clinic.doctors
    at = first_free_weekday(datetime.now(UTC)).replace(hour=9)

    worker_env = env | {"HDUCE_WORKER_HTTP_PORT": str(worker_port)}
    with running_worker(tmp_path, worker_env), running_server(tmp_path, env, command="api") as url:
        worker_url = f"http://127.0.0.1:{worker_port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            zero = (await client.get("/metrics")).text
            booked = await client.post(
                APPOINTMENTS,
                json={"doctor_id": str(doctor.id), "starts_at": iso(at)},
                headers=clinic.headers[first.id],
            )
            conflict = await client.post(
                APPOINTMENTS,
                json={"doctor_id": str(doctor.id), "starts_at": iso(at)},
                headers=clinic.headers[second.id],
            )
            out_of_hours = await client.post(
                APPOINTMENTS,
                json={"doctor_id": str(doctor.id), "starts_at": iso(at.replace(hour=20))},
                headers=clinic.headers[second.id],
            )
            approved = await client.post(
                f"{APPOINTMENTS}/{booked.json()['id']}/approve",
                headers={**clinic.headers[doctor.id], "If-Match": booked.headers["ETag"]},
            )
            refused_login = await client.post(
                f"{API}/auth/login",
                json={"email": f"nobody-{uuid7().hex}@example.org", "password": "not-it-at-all"},
            )
            ready = await client.get("/health/ready")
            api_metrics = (await client.get("/metrics")).text
            async with StreamWatcher(client, clinic.headers[first.id]).open():
                streaming = (await client.get("/metrics")).text

            async def stream_closed() -> bool:
                scraped = (await client.get("/metrics")).text
                return scraped_sum(scraped, "hduce_sse_streams_open") == 0

            await wait_until(stream_closed, timeout=30, what="the stream counted as closed")

        async with httpx.AsyncClient(base_url=worker_url, timeout=30) as worker:

            async def worker_did_its_part() -> bool:
                scraped = (await worker.get("/metrics")).text
                return (
                    scraped_sum(
                        scraped,
                        "hduce_events_consumed_total",
                        consumer="notifications",
                        type="appointment.approved",
                        outcome="processed",
                    )
                    >= 1
                    and scraped_sum(
                        scraped, "hduce_notifications_sent_total", channel="email", status="sent"
                    )
                    >= 3  # the request's and the approval's emails
                )

            await wait_until(worker_did_its_part, timeout=90, what="events consumed, emails sent")
            worker_metrics = (await worker.get("/metrics")).text
            worker_alive = await worker.get("/health")
            worker_ready = await worker.get("/health/ready")

    assert (booked.status_code, conflict.status_code, out_of_hours.status_code) == (201, 409, 422)
    assert (approved.status_code, refused_login.status_code) == (200, 401)

    # Shown at 0 before anything happened.
    for outcome in ("created", "conflict", "refused"):
        assert f'hduce_bookings_total{{outcome="{outcome}"}} 0.0' in zero
    assert 'hduce_logins_total{method="password",outcome="success"} 0.0' in zero

    def api(name: str, **labels: str) -> float:
        return scraped_sum(api_metrics, name, **labels)

    assert api("hduce_bookings_total", outcome="created") == 1
    assert api("hduce_bookings_total", outcome="conflict") == 1
    assert api("hduce_bookings_total", outcome="refused") == 1
    assert api("hduce_conflict_check_seconds_count") == 3
    assert (
        api("hduce_appointment_transitions_total", from_status="pending", to_status="approved") == 1
    )
    assert api("hduce_appointment_transitions_total") == 1
    assert api("hduce_logins_total", method="password", outcome="failure") == 1
    assert api("hduce_logins_total", method="password", outcome="success") == 0
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "migrations", "redis"}
    for check in ("database", "migrations", "redis"):
        assert api("hduce_readiness_up", check=check) == 1
    assert api("hduce_outbox_backlog") >= 0  # the API watches the outbox too
    assert "hduce_sse_streams_open 0.0" in api_metrics
    assert scraped_sum(streaming, "hduce_sse_streams_open") == 1

    def of_worker(name: str, **labels: str) -> float:
        return scraped_sum(worker_metrics, name, **labels)

    assert worker_alive.json() == {"status": "ok"}
    assert worker_ready.status_code == 200, worker_ready.text
    assert {name: c["status"] for name, c in worker_ready.json()["checks"].items()} == {
        "database": "up",
        "migrations": "up",
        "redis": "up",
    }
    # Two events (requested, approved) relayed from the outbox and consumed once each.
    assert of_worker("hduce_events_published_total", type="appointment.requested") == 1
    assert of_worker("hduce_events_published_total", type="appointment.approved") == 1
    assert of_worker("hduce_relay_latency_seconds_count") == 2
    assert of_worker("hduce_events_consumed_total", outcome="processed") == 2
    assert (
        of_worker(
            "hduce_events_consumed_total",
            consumer="notifications",
            type="appointment.requested",
            outcome="processed",
        )
        == 1
    )
    assert of_worker("hduce_events_consumed_total", outcome="failed") == 0
    assert 'hduce_consumer_lag_seconds{consumer="notifications"}' in worker_metrics
    assert of_worker("hduce_notifications_sent_total", channel="email", status="failed") == 0
    assert of_worker("hduce_bookings_total") == 0  # the API books; the worker does not
