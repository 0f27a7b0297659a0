"""Tracing as the use cases and adapters see it: one process-wide hook.

A trace follows one request across the outbox: the unit of work stores the *trace
context* of the request (the W3C ``traceparent``/``tracestate`` pair, as a mapping)
with each event, the relay resumes it around the publish, and a notification stored
by a handler keeps the context of that handler, which the delivery sweep resumes
around the send (docs/decisions/0012-traces-across-the-outbox.md).

The hook is process-wide, as OpenTelemetry's own tracer provider is: tracing is
configured once per process (``hduce.bootstrap.tracing``), and the layers that need
it are many (units of work, the relay, the in-process bus, handlers, delivery).
Until it is configured, ``tracing()`` is ``NoTracing``: every call is a constant or
a ``nullcontext``, and nothing of OpenTelemetry is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Literal, Protocol

#: The W3C trace context as header-like pairs (``traceparent``, maybe ``tracestate``).
TraceContext = Mapping[str, str]
SpanKind = Literal["internal", "producer", "consumer", "client"]
Attributes = Mapping[str, str | int | bool]


class Tracing(Protocol):
    def current_context(self) -> dict[str, str] | None:
        """The trace context of the active span, to store beside what it caused;
        None when no span is active (or it is not sampled)."""
        ...

    def resumed(self, context: TraceContext | None) -> AbstractContextManager[None]:
        """Make ``context`` (a stored trace context) the parent of the spans opened
        inside the block; nothing happens for None."""
        ...

    def span(
        self, name: str, *, kind: SpanKind = "internal", attributes: Attributes | None = None
    ) -> AbstractContextManager[None]:
        """A span around the block, child of the active one; an exception leaving the
        block is recorded on it."""
        ...

    def current_ids(self) -> tuple[str, str] | None:
        """(trace id, span id) of the active span as lowercase hex, for log lines."""
        ...

    def untraced(self) -> AbstractContextManager[None]:
        """Inside the block (and in the tasks started in it), the instrumented libraries
        (SQL, Redis) record no span, until a ``resumed`` context: background loops
        poll every second and would each make a trace of their own."""
        ...


class NoTracing:
    """Tracing off: everything is a no-op."""

    def current_context(self) -> dict[str, str] | None:
        return None

    def resumed(self, context: TraceContext | None) -> AbstractContextManager[None]:
        return nullcontext()

    def span(
        self, name: str, *, kind: SpanKind = "internal", attributes: Attributes | None = None
    ) -> AbstractContextManager[None]:
        return nullcontext()

    def current_ids(self) -> tuple[str, str] | None:
        return None

    def untraced(self) -> AbstractContextManager[None]:
        return nullcontext()


NO_TRACING: Tracing = NoTracing()
_installed: Tracing = NO_TRACING


def tracing() -> Tracing:
    """The process's tracing (``NoTracing`` unless configured)."""
    return _installed


def install_tracing(implementation: Tracing | None) -> None:
    """Make ``implementation`` the process's tracing (None: back to ``NoTracing``)."""
    global _installed
    _installed = implementation if implementation is not None else NO_TRACING
