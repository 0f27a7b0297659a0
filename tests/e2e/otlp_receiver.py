"""A stand-in for an OpenTelemetry collector's OTLP/HTTP receiver: a plain HTTP server on
a loopback port that records what is POSTed to it, and decodes the trace exports with
the OTLP's own protobuf classes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage

from tests.services import free_port


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    attributes: dict[str, object]


@dataclass
class Receiver:
    url: str
    posts: list[tuple[str, str, bytes]] = field(default_factory=list)

    def spans(self) -> list[ReceivedSpan]:
        """Every span of every trace export received, in arrival order."""
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
                            ReceivedSpan(
                                service=service,
                                name=span.name,
                                kind=SpanMessage.SpanKind.Name(span.kind).removeprefix(
                                    "SPAN_KIND_"
                                ),
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_id=span.parent_span_id.hex(),
                                attributes={
                                    a.key: getattr(a.value, a.value.WhichOneof("value"))
                                    for a in span.attributes
                                    if a.value.WhichOneof("value")
                                },
                            )
                        )
        return found

    def wait_for(
        self,
        found: Callable[[list[ReceivedSpan]], object],
        *,
        timeout: float = 60.0,
        what: str = "",
    ) -> None:
        deadline = time.monotonic() + timeout
        while not found(self.spans()):
            if time.monotonic() > deadline:
                names = sorted({(s.service, s.name) for s in self.spans()})
                raise AssertionError(f"not within {timeout} s: {what}; received {names}")
            time.sleep(0.1)


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
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
