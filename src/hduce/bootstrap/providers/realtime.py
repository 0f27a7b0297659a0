"""The live side of notifications: the fan-out the notification handler publishes to
and the SSE stream listens on, and the cap on streams per user. In process memory
(one process sees only what it publishes itself), or on Redis at ``HDUCE_REDIS_URL``,
so a stream open on any API process gets what any worker publishes
(``hduce.bootstrap.providers.redis_state``, imported only with ``HDUCE_REDIS_URL``)."""

from __future__ import annotations

from collections.abc import Iterator

from dishka import Provider, Scope, provide

from hduce.adapters.memory.realtime import InMemoryRealtimeFanout, InMemoryStreamSlots
from hduce.application.ports import RealtimeFanout, RealtimeSubscriber, StreamSlots


class InMemoryRealtimeProvider(Provider):
    """This process only: right for ``hduce serve`` alone (the embedded default)."""

    scope = Scope.APP

    @provide
    def fanout(self) -> Iterator[InMemoryRealtimeFanout]:
        fanout = InMemoryRealtimeFanout()
        yield fanout
        fanout.close()

    # Both sides of the one fan-out, typed as the ports: mypy checks here that the
    # adapter conforms to each.
    @provide
    def realtime_publisher(self, fanout: InMemoryRealtimeFanout) -> RealtimeFanout:
        return fanout

    @provide
    def realtime_subscriber(self, fanout: InMemoryRealtimeFanout) -> RealtimeSubscriber:
        return fanout

    @provide
    def stream_slots(self) -> StreamSlots:
        return InMemoryStreamSlots()
