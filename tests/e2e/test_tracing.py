"""One trace per booking, from the HTTP request to the email it causes.

The real app (``hduce serve``'s shape: HTTP, outbox relay, consumers and delivery sweep
in one process) on PostgreSQL and Redis, with events through RabbitMQ, Kafka or the
in-process bus, and an SMTP server receiving the emails. Spans go to the SDK's
``InMemorySpanExporter``; the tests follow the parent links from the email send span
back to the HTTP server span, across the outbox row and the broker message
(docs/decisions/0012-traces-across-the-outbox.md). The access log line of the request
carries the ids of its server span.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hduce.bootstrap.logging import configure_logging
from hduce.bootstrap.tracing import configure_tracing, shutdown_tracing
from tests.e2e.harness import NOW, Backend, ClinicWorld, settings_for, start_app
from tests.fakes import FixedClock
from tests.integration.brokers.support import unique_prefix
from tests.services import SmtpServer

BUS_URL_FIXTURES = {"in-process": None, "rabbit": "rabbitmq_url", "kafka": "kafka_url"}


@pytest.fixture
def spans(production: Backend) -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, every finished span kept in memory."""
    exporter = InMemorySpanExporter()
    configure_tracing(settings_for(production), exporter=exporter)
    try:
        yield exporter
    finally:
        shutdown_tracing()


async def _eventually(
    exporter: InMemorySpanExporter, found: Any, *, timeout: float = 40.0, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = found(exporter.get_finished_spans())
        if result:
            return result
        if time.monotonic() > deadline:
            names = sorted({span.name for span in exporter.get_finished_spans()})
            raise AssertionError(f"not within {timeout} s: {what}; spans: {names}")
        await asyncio.sleep(0.2)


def _server_span(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    [server] = [
        span
        for span in spans
        if span.kind is SpanKind.SERVER and span.name == "POST /api/v1/appointments"
    ]
    return server


def _attribute(span: ReadableSpan, *names: str) -> Any:
    attributes = span.attributes or {}
    return next((attributes[name] for name in names if name in attributes), None)


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """``span`` and its ancestors, up to the root (or a parent not recorded here)."""
    chain = [span]
    while (parent := by_id.get(_parent_id(chain[-1]) or 0)) is not None:
        chain.append(parent)
    return chain


@pytest.mark.parametrize("bus", list(BUS_URL_FIXTURES))
async def test_a_booking_is_one_trace_from_the_request_to_the_email_it_causes(
    bus: str,
    request: pytest.FixtureRequest,
    production: Backend,
    spans: InMemorySpanExporter,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"HDUCE_SMTP_URL": smtp_server.url, "HDUCE_LOG_FORMAT": "json"}
    if (url_fixture := BUS_URL_FIXTURES[bus]) is not None:
        env |= {
            "HDUCE_BROKER_URL": request.getfixturevalue(url_fixture),
            "HDUCE_BROKER_PREFIX": unique_prefix(),
        }
    configure_logging(settings_for(production, env))
    async with start_app(production, env=env, clock=FixedClock(NOW), mode="all") as client:
        world = await ClinicWorld.open(client)
        capsys.readouterr()
        response = await world.book()
        assert response.status_code == 201, response.text
        request_id = response.headers["x-request-id"]
        patient = world.people["patient"].email
        await smtp_server.wait_for(lambda mail: patient in mail.rcpt_tos, timeout=40)

        server = _server_span(spans.get_finished_spans())
        trace_id = server.context.trace_id

        def email_sends(finished: Sequence[ReadableSpan]) -> list[ReadableSpan]:
            return [
                span
                for span in finished
                if span.name == "email send" and span.context.trace_id == trace_id
            ]

        # Patient and doctor each get an email, each send a span of the booking's trace.
        sends = await _eventually(
            spans,
            lambda finished: len(email_sends(finished)) == 2 and email_sends(finished),
            what="both email send spans in the booking's trace",
        )
    log_lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]

    trace = [span for span in spans.get_finished_spans() if span.context.trace_id == trace_id]
    by_id = {span.context.span_id: span for span in trace}
    assert server.parent is None  # the request started the trace
    assert _attribute(server, "http.response.status_code", "http.status_code") == 201

    # The request's own SQL (the booking, then the outbox row with the event) and its
    # Redis commands (authentication) are children of the server span.
    request_statements = [
        str(_attribute(span, "db.statement", "db.query.text"))
        for span in trace
        if _parent_id(span) == server.context.span_id
        and _attribute(span, "db.system", "db.system.name") == "postgresql"
    ]
    assert any(text.startswith("WITH new_appointment") for text in request_statements)
    assert any(text.startswith("WITH new_events") for text in request_statements)
    assert any(
        _parent_id(span) == server.context.span_id
        and _attribute(span, "db.system", "db.system.name") == "redis"
        for span in trace
    )

    for send in sends:
        assert send.kind is SpanKind.CLIENT
        assert send.status.is_ok
        chain = _chain(send, by_id)
        # The chain ends at the request's server span: nothing in between was lost.
        assert chain[-1] is server, [span.name for span in chain]
        handler = by_id[_parent_id(send) or 0]
        assert handler.kind is SpanKind.CONSUMER, handler.name
        assert _attribute(handler, "messaging.operation") == "process"
        # The handler's own SQL (inbox mark, parties, notifications) is its children.
        assert any(
            _parent_id(span) == handler.context.span_id
            and _attribute(span, "db.system", "db.system.name") == "postgresql"
            for span in trace
        )
        if bus == "in-process":
            # The relay resumed the request's context around the bus's dispatch.
            assert [span.name for span in chain] == [
                "email send",
                "appointment.requested process",
                "POST /api/v1/appointments",
            ]
            continue
        # Through the broker: FastStream's "create" span is the message's context (in
        # its headers), parent of both the publish span and the consumer's span.
        create = by_id[_parent_id(handler) or 0]
        assert create.kind is SpanKind.PRODUCER and create.name.endswith(" create")
        assert _parent_id(create) == server.context.span_id
        assert [span.name for span in chain] == [
            "email send",
            handler.name,
            create.name,
            "POST /api/v1/appointments",
        ]
        publishes = [
            span
            for span in trace
            if _parent_id(span) == create.context.span_id
            and _attribute(span, "messaging.operation") == "publish"
        ]
        assert len(publishes) == 1 and publishes[0].kind is SpanKind.PRODUCER
        assert (
            _attribute(handler, "messaging.system") == {"rabbit": "rabbitmq", "kafka": "kafka"}[bus]
        )

    # The access log line of the request names its trace and its server span.
    [access] = [
        line
        for line in log_lines
        if line.get("request_id") == request_id and line.get("logger") == "hduce.access"
    ]
    assert access["trace_id"] == f"{trace_id:032x}"
    assert access["span_id"] == f"{server.context.span_id:016x}"
