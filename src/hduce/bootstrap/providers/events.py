"""Events in process: the bus the outbox relay publishes to (the live fan-out of
notifications is ``hduce.bootstrap.providers.realtime``)."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.adapters.memory.bus import InProcessEventBus
from hduce.application.ports import EventPublisher
from hduce.bootstrap.metrics import MeteredPublisher


class EventBusProvider(Provider):
    scope = Scope.APP

    @provide
    def in_process_bus(self) -> InProcessEventBus:
        # Errors propagate to the relay so the event stays in the outbox and is
        # retried; handlers are idempotent by event id, so a retry is harmless.
        # No history: nothing in the app reads it (a failure is logged, and the outbox
        # keeps the event), and the last 1,000 events held about 1 MB of ``hduce serve``.
        return InProcessEventBus(propagate_errors=True, history_size=0)

    @provide
    def publisher(self, bus: InProcessEventBus) -> EventPublisher:
        return MeteredPublisher(bus)
