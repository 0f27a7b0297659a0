"""Spans leave a real ``hduce serve`` over OTLP/HTTP when ``HDUCE_OTLP_ENDPOINT`` is set.

The receiver is a plain HTTP server on a loopback port that records what is POSTed to
it (what a collector's OTLP/HTTP receiver is sent); the test decodes the protobuf
bodies with the OTLP's own message classes. A request that arrives with a W3C
``traceparent`` continues the caller's trace, and the access log line names it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.e2e.server import clean_environment, running_server
from tests.services import free_port

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"


@dataclass
class Receiver:
    url: str
    posts: list[tuple[str, str, bytes]] = field(default_factory=list)

    def spans(self) -> list[tuple[str, str, str, str]]:
        """(service.name, span name, trace id, parent span id) of every span received."""
        found = []
        for path, content_type, body in list(self.posts):
            if path != "/v1/traces" or content_type != "application/x-protobuf":
                continue
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                service = next(
                    attribute.value.string_value
                    for attribute in resource_spans.resource.attributes
                    if attribute.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append(
                            (service, span.name, span.trace_id.hex(), span.parent_span_id.hex())
                        )
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    received = Receiver(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.posts.append((self.path, self.headers.get("content-type", ""), body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_hduce_serve_exports_its_spans_to_the_otlp_endpoint(
    receiver: Receiver, tmp_path: Path
) -> None:
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        HDUCE_JWT_SECRET="otlp-export-secret-0123456789abcdef012345",
        HDUCE_OTLP_ENDPOINT=receiver.url,
        HDUCE_OTLP_SERVICE_NAME="hduce-otlp-test",
        # The SDK's batch delay (ms), so spans leave at once rather than every 5 s.
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    with running_server(tmp_path, env) as base_url:
        response = httpx.get(
            f"{base_url}/api/v1/specialties",
            headers={"traceparent": f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"},
        )
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + 30
        while not any(name == "GET /api/v1/specialties" for _, name, *_ in receiver.spans()):
            assert time.monotonic() < deadline, f"no server span received: {receiver.spans()}"
            time.sleep(0.1)
    log = next((tmp_path).glob("serve-*.log")).read_text()

    [server_span] = [span for span in receiver.spans() if span[1] == "GET /api/v1/specialties"]
    assert server_span == (
        "hduce-otlp-test",
        "GET /api/v1/specialties",
        CALLER_TRACE_ID,  # the caller's trace, continued
        CALLER_SPAN_ID,
    )
    # Health probes are not traced.
    assert not [span for span in receiver.spans() if span[1].startswith("GET /health")]
    [access] = [
        line
        for line in (json.loads(text) for text in log.splitlines() if text.startswith("{"))
        if line.get("request_id") == request_id and line.get("logger") == "hduce.access"
    ]
    assert access["trace_id"] == CALLER_TRACE_ID
