"""Events in process: the bus the outbox relay publishes to, and the live fan-out that
notification handlers publish to and the SSE stream listens on."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.adapters.memory.bus import InProcessEventBus
from hduce.adapters.memory.realtime import InMemoryRealtimeFanout
from hduce.application.ports import EventPublisher, RealtimeFanout, RealtimeSubscriber
from hduce.bootstrap.metrics import MeteredPublisher


class EventBusProvider(Provider):
    scope = Scope.APP

    @provide
    def in_process_bus(self) -> InProcessEventBus:
        # Errors propagate to the relay so the event stays in the outbox and is
        # retried; handlers are idempotent by event id, so a retry is harmless.
        return InProcessEventBus(propagate_errors=True)

    @provide
    def publisher(self, bus: InProcessEventBus) -> EventPublisher:
        return MeteredPublisher(bus)

    @provide
    def realtime(self) -> InMemoryRealtimeFanout:
        return InMemoryRealtimeFanout()

    # Both sides of the one fan-out, typed as the ports: mypy checks here that the
    # in-memory fan-out conforms to each.
    @provide
    def realtime_publisher(self, fanout: InMemoryRealtimeFanout) -> RealtimeFanout:
        return fanout

    @provide
    def realtime_subscriber(self, fanout: InMemoryRealtimeFanout) -> RealtimeSubscriber:
        return fanout
