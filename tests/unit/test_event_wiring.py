"""The in-process consumers are subscribed from the routing table, each to the events
it reacts to, and counted in ``hduce_events_consumed`` under its consumer name."""

from __future__ import annotations

from pathlib import Path

import pytest
from dishka import Provider, Scope, provide
from prometheus_client import REGISTRY

from hduce.adapters.memory import InProcessEventBus
from hduce.adapters.memory.bus import HandlerFailed
from hduce.application.messaging.handlers import EVENT_HANDLERS
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.bootstrap.background import background_services
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from hduce.domain import events
from hduce.domain.events import DomainEvent
from hduce.domain.notifications import Notification
from tests.metrics import sample_sum
from tests.unit.adapters.contract import user_registered
from tests.unit.domain.builders import CAST, NOW, POLICY, book


class RecordingNotifications(HandleEventNotifications):
    """The notification handler, recording what reaches it instead of storing anything."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, event: DomainEvent) -> list[Notification]:
        self.seen.append(event.type)
        if event.type == events.APPOINTMENT_CANCELLED:
            raise ConnectionError("database down")
        return []


class Recording(Provider):
    scope = Scope.APP

    def __init__(self, handler: RecordingNotifications) -> None:
        super().__init__()
        self._handler = handler

    @provide(override=True)
    def notifications(self) -> HandleEventNotifications:
        return self._handler


def consumed(outcome: str) -> float:
    labels = {"consumer": "notifications", "outcome": outcome}
    return sample_sum(REGISTRY, "hduce_events_consumed_total", **labels)


async def test_consumers_subscribe_from_the_routing_table(tmp_path: Path) -> None:
    settings = Settings.from_env({"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    handler = RecordingNotifications()
    container = build_container(settings, extra=[Recording(handler)])
    try:
        [consumers] = [
            service
            for service in background_services(container, settings)
            if getattr(service, "__name__", "") == "in_process_consumers"
        ]
        bus = await container.get(InProcessEventBus)
        appointment = book(by="patient")
        [requested] = appointment.collect_events()
        appointment.cancel(actor=CAST.patient, now=NOW, reason="better", policy=POLICY)
        [cancelled] = appointment.collect_events()
        processed_before, failed_before = consumed("processed"), consumed("failed")

        async with consumers():
            for payload_class, handlers in EVENT_HANDLERS.items():
                assert len(bus.handlers_for(payload_class.TYPE)) == len(handlers)
            await bus.publish(requested)
            await bus.publish(user_registered())  # nothing reacts to it yet
            with pytest.raises(HandlerFailed):  # so the outbox keeps it for a retry
                await bus.publish(cancelled)

        assert handler.seen == [events.APPOINTMENT_REQUESTED] + [events.APPOINTMENT_CANCELLED] * 3
        assert consumed("processed") == processed_before + 1
        assert consumed("failed") == failed_before + 3  # every attempt of the bus
        assert bus.handlers_for(events.APPOINTMENT_REQUESTED) == []  # unsubscribed on exit
        # The app's bus holds no history of what it carried: its failure was logged and
        # the outbox keeps the event, so memory stays flat however long it runs.
        assert (list(bus.published), list(bus.dead_letters)) == ([], [])
    finally:
        await container.close()
