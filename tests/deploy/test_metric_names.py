"""Every metric the Grafana dashboard and the alert rules query is one HDUCE really
exposes, with the labels the queries match on.

The deployment as compose and Kubernetes run it, as real processes: ``hduce db
upgrade``, then ``hduce api`` with /metrics on ``HDUCE_METRICS_PORT`` and ``hduce
worker`` with /metrics and /health on ``HDUCE_WORKER_HTTP_PORT``, on PostgreSQL,
Redis and RabbitMQ with a local SMTP server. A patient books, the doctor approves,
someone fails to sign in, the probes ask each process whether it is ready; once the
worker has e-mailed the booking, both /metrics endpoints are scraped.

What counts as exposed: ``tests/deploy/queries.py`` (``exposed``, ``problems``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hduce.domain.ids import uuid7
from tests import services
from tests.deploy.queries import RULES, all_queries, exposed, problems, selectors
from tests.e2e.harness import API, APPOINTMENTS, SECRET, iso
from tests.e2e.server import (
    clean_environment,
    free_port,
    run_command,
    running_server,
    running_worker,
)
from tests.e2e.split_support import first_free_weekday, seed_clinic
from tests.integration.brokers.support import wait_until
from tests.integration.delivery.local_smtp import smtp_controller
from tests.services import RecordingHandler

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

#: How the booking route is labelled (Litestar's route template, under the prefix).
BOOKING_ROUTE = APPOINTMENTS
#: How long the worker may take to relay, consume and e-mail the booking here.
PATIENCE = 90.0


async def scrape(client: httpx.AsyncClient, url: str) -> str:
    response = await client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"
    return response.text


async def test_every_metric_of_the_dashboard_and_the_alerts_is_exposed(
    postgres_url: str, redis_url: str, rabbitmq_url: str, tmp_path: Path
) -> None:
    found = [selector for query in all_queries() for selector in selectors(query)]
    mailbox = RecordingHandler()
    with smtp_controller(mailbox) as smtp_port:
        async with services.temporary_database(postgres_url, prefix="hduce_deploy") as database:
            settings_env = {
                "HDUCE_DATABASE_URL": database,
                "HDUCE_REDIS_URL": redis_url,
                "HDUCE_BROKER_URL": rabbitmq_url,
                "HDUCE_BROKER_PREFIX": f"deploy_{uuid7().hex[-10:]}",
                "HDUCE_JWT_SECRET": SECRET,
                "HDUCE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            }
            env = clean_environment(**settings_env)
            run_command(["db", "upgrade"], env, tmp_path)
            clinic = await seed_clinic(settings_env, patients=1, doctors=1, doctor_phones=0)
            (patient,), (doctor,) = clinic.patients, clinic.doctors
            api_metrics = f"http://127.0.0.1:{free_port()}"
            worker_http = f"http://127.0.0.1:{free_port()}"

            with (
                running_worker(
                    tmp_path,
                    env | {"HDUCE_WORKER_HTTP_PORT": worker_http.rsplit(":", 1)[1]},
                    timeout=90,
                ),
                running_server(
                    tmp_path,
                    env | {"HDUCE_METRICS_PORT": api_metrics.rsplit(":", 1)[1]},
                    command="api",
                ) as base_url,
            ):
                async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                    booked = await client.post(
                        APPOINTMENTS,
                        json={
                            "doctor_id": str(doctor.id),
                            "starts_at": iso(first_free_weekday(datetime.now(UTC))),
                            "reason": "Check-up",
                        },
                        headers=clinic.headers[patient.id],
                    )
                    assert booked.status_code == 201, booked.text
                    approved = await client.post(
                        f"{APPOINTMENTS}/{booked.json()['id']}/approve",
                        headers={**clinic.headers[doctor.id], "If-Match": booked.headers["ETag"]},
                    )
                    assert approved.status_code == 200, approved.text
                    refused = await client.post(
                        f"{API}/auth/login",
                        json={"email": patient.email, "password": "not-the-password-1"},
                    )
                    assert refused.status_code == 401, refused.text
                    # What the probes ask (deploy/k8s), on each process.
                    assert (await client.get("/health/ready")).status_code == 200
                    worker_ready = await client.get(f"{worker_http}/health/ready")
                    assert worker_ready.status_code == 200, worker_ready.text

                    # The booking's and the approval's e-mails went out through the worker.
                    async def mailed() -> bool:
                        return len(mailbox.messages) >= 3

                    await wait_until(mailed, timeout=PATIENCE, what="3 e-mails at the SMTP server")

                    api_scrape = await scrape(client, f"{api_metrics}/metrics")
                    scrapes = {
                        "api": exposed(api_scrape),
                        "worker": exposed(await scrape(client, f"{worker_http}/metrics")),
                    }

    assert found
    assert problems(found, scrapes) == []
    # The booking alert and latency panel select the route by its template: the
    # booking made above is counted under exactly that method and path.
    assert any(
        sample.labels.get("method") == "POST" and sample.labels.get("path") == BOOKING_ROUTE
        for family in text_string_to_metric_families(api_scrape)
        for sample in family.samples
        if sample.name == "hduce_request_duration_seconds_bucket"
    )
    assert f'path="{BOOKING_ROUTE}"' in RULES.read_text()
