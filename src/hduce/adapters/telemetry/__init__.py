"""OpenTelemetry traces: the SDK's tracer provider, the ``Tracing`` hook over it, and
the instrumentation of the database driver and the Redis client.

Imported only when tracing is on (``hduce.bootstrap.tracing``): a process without
``HDUCE_OTLP_ENDPOINT`` never loads the SDK. Everything here takes the tracer
provider explicitly instead of setting OpenTelemetry's global one, which can be set
once per process only (tests configure tracing many times in one process).

What the well-kept instrumentations cover, and what is ours:

* HTTP server spans: Litestar's OpenTelemetry middleware (``hduce.bootstrap.tracing``);
* publish and consume spans, with the context in the message headers: FastStream's
  ``TelemetryMiddleware`` (``hduce.adapters.messaging.brokers``);
* SQL spans: ``opentelemetry-instrumentation-asyncpg`` (PostgreSQL; SQLite has none);
* Redis spans: ``opentelemetry-instrumentation-redis``;
* ours: the trace context kept across the outbox and the notifications table (no
  library knows a transactional outbox), the in-process bus's spans and the email and
  SMS send spans (no instrumentation exists for aiosmtplib or the SMS API client).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hduce.application.tracing import Attributes, SpanKind, TraceContext

#: W3C Trace Context only (``traceparent``, ``tracestate``): what the outbox stores.
_PROPAGATOR: Final = TraceContextTextMapPropagator()
_KINDS: Final = {
    "internal": trace.SpanKind.INTERNAL,
    "producer": trace.SpanKind.PRODUCER,
    "consumer": trace.SpanKind.CONSUMER,
    "client": trace.SpanKind.CLIENT,
}
INSTRUMENTATION_NAME: Final = "hduce"
#: Where an OTLP/HTTP receiver takes traces, below its base URL.
OTLP_TRACES_PATH: Final = "/v1/traces"


def build_tracer_provider(
    *,
    service_name: str,
    sample_ratio: float,
    otlp_endpoint: str | None = None,
    exporter: SpanExporter | None = None,
) -> TracerProvider:
    """A tracer provider for ``service_name`` that samples ``sample_ratio`` of the traces
    this process starts (and follows the caller's decision for the others), batching
    spans to the OTLP/HTTP receiver at ``otlp_endpoint`` and/or handing each span to
    ``exporter`` as it ends (tests)."""
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        # Flushes the batch at interpreter exit; ``shutdown`` does it earlier.
        shutdown_on_exit=True,
    )
    if otlp_endpoint is not None:
        # Loaded with an endpoint only: the exporter brings protobuf along.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint + OTLP_TRACES_PATH))
        )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def instrument_libraries(provider: TracerProvider) -> None:
    """SQL (asyncpg) and Redis spans. These instrumentations patch the client classes,
    once per process: a second call changes nothing until ``uninstrument_libraries``."""
    AsyncPGInstrumentor().instrument(tracer_provider=provider)
    RedisInstrumentor().instrument(tracer_provider=provider)


def uninstrument_libraries() -> None:
    AsyncPGInstrumentor().uninstrument()
    RedisInstrumentor().uninstrument()


class OtelTracing:
    """The application's ``Tracing`` hook over an OpenTelemetry tracer provider."""

    def __init__(self, provider: TracerProvider) -> None:
        self._tracer = provider.get_tracer(INSTRUMENTATION_NAME)

    def current_context(self) -> dict[str, str] | None:
        if not trace.get_current_span().get_span_context().is_valid:
            return None
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return carrier or None

    @contextmanager
    def _attached(self, context: TraceContext) -> Iterator[None]:
        token = otel_context.attach(_PROPAGATOR.extract(dict(context)))
        try:
            yield
        finally:
            otel_context.detach(token)

    def resumed(self, context: TraceContext | None) -> AbstractContextManager[None]:
        if not context:
            return nullcontext()
        return self._attached(context)

    @contextmanager
    def span(
        self, name: str, *, kind: SpanKind = "internal", attributes: Attributes | None = None
    ) -> Iterator[None]:
        with self._tracer.start_as_current_span(
            name, kind=_KINDS[kind], attributes=dict(attributes or {})
        ):
            yield

    def current_ids(self) -> tuple[str, str] | None:
        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"

    def untraced(self) -> AbstractContextManager[None]:
        # The instrumentations' own switch; ``resumed`` attaches a fresh context
        # without it, and FastStream's consumer middleware does too for a message
        # that carries a trace context.
        return suppress_instrumentation()
