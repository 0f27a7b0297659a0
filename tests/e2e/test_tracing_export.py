"""Spans leave real ``hduce`` processes over OTLP/HTTP when ``HDUCE_OTLP_ENDPOINT`` is
set, to a local stand-in for a collector (``otlp_receiver.py``).

* ``hduce serve``: a request that arrives with a W3C ``traceparent`` continues the
  caller's trace, health probes are not traced, and the access log line names the trace.
* ``hduce api`` and ``hduce worker`` on PostgreSQL, Redis and a broker: the booking's
  trace, started by the API, goes on in the worker, which relays the outbox row
  (FastStream's create and publish spans), consumes the message and sends the email
  and SMS: each span's parent is the one before, across the two processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hduce.domain.ids import uuid7
from tests import services
from tests.e2e.harness import APPOINTMENTS, SECRET, iso
from tests.e2e.otlp_receiver import ReceivedSpan, Receiver, otlp_receiver
from tests.e2e.server import clean_environment, run_command, running_server, running_worker
from tests.e2e.split_support import first_free_weekday, seed_clinic
from tests.integration.brokers.support import wait_until
from tests.integration.delivery.local_smtp import smtp_controller
from tests.integration.delivery.sms_provider import LocalSmsProvider, serve
from tests.services import RecordingHandler

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
#: The SDK's batch delay (ms): spans leave at once rather than every 5 s.
PROMPT_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as received:
        yield received


def test_hduce_serve_exports_its_spans_to_the_otlp_endpoint(
    receiver: Receiver, tmp_path: Path
) -> None:
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        HDUCE_JWT_SECRET=SECRET,
        HDUCE_OTLP_ENDPOINT=receiver.url,
        HDUCE_OTLP_SERVICE_NAME="hduce-otlp-test",
        **PROMPT_EXPORT,
    )
    with running_server(tmp_path, env) as base_url:
        response = httpx.get(
            f"{base_url}/api/v1/specialties",
            headers={"traceparent": f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"},
        )
        request_id = response.headers["x-request-id"]
        receiver.wait_for(
            lambda spans: any(s.name == "GET /api/v1/specialties" for s in spans),
            what="the request's server span",
        )
    log = next(tmp_path.glob("serve-*.log")).read_text()

    [server] = [s for s in receiver.spans() if s.name == "GET /api/v1/specialties"]
    assert (server.service, server.kind) == ("hduce-otlp-test", "SERVER")
    # The caller's trace, continued.
    assert (server.trace_id, server.parent_id) == (CALLER_TRACE_ID, CALLER_SPAN_ID)
    assert not [s for s in receiver.spans() if s.name.startswith("GET /health")]
    [access] = [
        line
        for line in (json.loads(text) for text in log.splitlines() if text.startswith("{"))
        if line.get("request_id") == request_id and line.get("logger") == "hduce.access"
    ]
    assert (access["trace_id"], access["span_id"]) == (CALLER_TRACE_ID, server.span_id)


@pytest.mark.parametrize("broker", ["rabbitmq", "kafka"])
async def test_the_worker_continues_the_trace_the_api_started(
    broker: str,
    request: pytest.FixtureRequest,
    receiver: Receiver,
    postgres_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    broker_url = request.getfixturevalue(f"{broker}_url")
    mailbox = RecordingHandler()
    with smtp_controller(mailbox) as smtp_port, serve(LocalSmsProvider()) as sms:
        async with services.temporary_database(postgres_url, prefix="hduce_trace") as database:
            settings_env = {
                "HDUCE_DATABASE_URL": database,
                "HDUCE_REDIS_URL": redis_url,
                "HDUCE_BROKER_URL": broker_url,
                "HDUCE_BROKER_PREFIX": f"trace_{uuid7().hex[-10:]}",
                "HDUCE_JWT_SECRET": SECRET,
                "HDUCE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
                "HDUCE_SMS_API_URL": sms.api_url,
                "HDUCE_SMS_ACCOUNT_SID": sms.account_sid,
                "HDUCE_SMS_AUTH_TOKEN": sms.auth_token,
                "HDUCE_SMS_FROM": "+15005550006",
                "HDUCE_OTLP_ENDPOINT": receiver.url,
            }
            env = clean_environment(**settings_env, **PROMPT_EXPORT)
            run_command(["db", "upgrade"], env, tmp_path)
            clinic = await seed_clinic(settings_env, patients=1, doctors=1, doctor_phones=0)
            [patient], [doctor] = clinic.patients, clinic.doctors
            with (
                running_worker(
                    tmp_path, env | {"HDUCE_OTLP_SERVICE_NAME": "hduce-worker"}, timeout=90
                ),
                running_server(
                    tmp_path, env | {"HDUCE_OTLP_SERVICE_NAME": "hduce-api"}, command="api"
                ) as base_url,
            ):
                async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                    booked = await client.post(
                        APPOINTMENTS,
                        json={
                            "doctor_id": str(doctor.id),
                            "starts_at": iso(first_free_weekday(datetime.now(UTC))),
                        },
                        headers=clinic.headers[patient.id],
                    )
                assert booked.status_code == 201, booked.text

                async def delivered() -> bool:
                    mailed = any(patient.email in m.rcpt_tos for m in mailbox.messages)
                    return mailed and any(m.to == patient.phone for m in sms.messages())

                await wait_until(delivered, timeout=90, what="the patient's email and SMS")
                [server] = [s for s in receiver.spans() if s.name == "POST /api/v1/appointments"]

                def sends(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
                    return [
                        s
                        for s in spans
                        if s.name in {"email send", "sms send"} and s.trace_id == server.trace_id
                    ]

                # Email to the patient and the doctor, SMS to the patient.
                receiver.wait_for(lambda spans: len(sends(spans)) == 3, what="the send spans")

    spans = {s.span_id: s for s in receiver.spans() if s.trace_id == server.trace_id}
    assert (server.service, server.kind, server.parent_id) == ("hduce-api", "SERVER", "")
    for send in sends(receiver.spans()):
        process = spans[send.parent_id]
        create = spans[process.parent_id]
        assert (send.service, send.kind) == ("hduce-worker", "CLIENT")
        assert (process.service, process.kind) == ("hduce-worker", "CONSUMER")
        assert process.name.endswith(" process")
        # The worker's relay made the message, as a child of the API's request span.
        assert (create.service, create.kind) == ("hduce-worker", "PRODUCER")
        assert create.name.endswith(" create")
        assert create.parent_id == server.span_id
    [publish] = [
        s for s in spans.values() if s.name.endswith(" publish") and s.parent_id == create.span_id
    ]
    assert (publish.service, publish.kind) == ("hduce-worker", "PRODUCER")
    # The API's SQL is in the trace, under the request.
    assert any(
        s.service == "hduce-api" and s.parent_id == server.span_id and s.kind == "CLIENT"
        for s in spans.values()
    )
