"""In-process event bus (the ``EventPublisher`` port of the embedded mode).

The outbox relay publishes into it; it calls the subscribed async handlers one
after the other, in subscription order, before ``publish`` returns. Like a
broker consumer, a failing handler is retried (``max_attempts``) and then
dead-lettered; it never keeps the other handlers from seeing the event. With
``propagate_errors=True`` the failure is raised instead, so the outbox keeps
the event and relays it again later (handlers must then be idempotent, which
they are by event id through ``ProcessedEvents``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from hduce.application.ports import EventHandler
from hduce.application.tracing import tracing
from hduce.domain.events import DomainEvent

log = structlog.get_logger("hduce.bus")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    event: DomainEvent
    handler: str
    error: BaseException


@dataclass(frozen=True, slots=True)
class _Subscription:
    handler: EventHandler
    event_types: frozenset[str] | None  # None: every event
    name: str


class HandlerFailed(Exception):
    """Raised by ``publish`` (with ``propagate_errors``) when a handler gave up."""

    def __init__(self, event: DomainEvent, failures: list[DeadLetter]) -> None:
        names = ", ".join(f.handler for f in failures)
        super().__init__(f"event {event.id} ({event.type}) failed in: {names}")
        self.event = event
        self.failures = failures


def _handler_name(handler: EventHandler) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__qualname__


class InProcessEventBus:
    def __init__(
        self,
        *,
        max_attempts: int = 3,
        retry_delay_seconds: float = 0.05,
        propagate_errors: bool = False,
        history_size: int = 1000,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._subscriptions: list[_Subscription] = []
        self.max_attempts = max_attempts
        self.retry_delay_seconds = retry_delay_seconds
        self.propagate_errors = propagate_errors
        #: The most recent events published (for tests and diagnostics).
        self.published: deque[DomainEvent] = deque(maxlen=history_size)
        #: Handler calls that failed every attempt.
        self.dead_letters: deque[DeadLetter] = deque(maxlen=history_size)

    def subscribe(self, handler: EventHandler, *event_types: str) -> Callable[[], None]:
        """Call ``handler`` for events of these types (every event if none given).

        Returns a function that removes the subscription.
        """
        subscription = _Subscription(
            handler, frozenset(event_types) if event_types else None, _handler_name(handler)
        )
        self._subscriptions.append(subscription)

        def unsubscribe() -> None:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

        return unsubscribe

    def handlers_for(self, event_type: str) -> list[EventHandler]:
        return [
            s.handler
            for s in self._subscriptions
            if s.event_types is None or event_type in s.event_types
        ]

    async def publish(self, event: DomainEvent) -> None:
        self.published.append(event)
        failures: list[DeadLetter] = []
        for subscription in list(self._subscriptions):
            if subscription.event_types is not None and event.type not in subscription.event_types:
                continue
            failure = await self._deliver(subscription, event)
            if failure is not None:
                failures.append(failure)
        if failures and self.propagate_errors:
            raise HandlerFailed(event, failures)

    async def _deliver(self, subscription: _Subscription, event: DomainEvent) -> DeadLetter | None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                # What a broker consumer's span is: the handler's work, in the trace
                # the relay resumed (the change that caused the event).
                with tracing().span(
                    f"{event.type} process",
                    kind="consumer",
                    attributes={
                        "messaging.system": "in-process",
                        "messaging.operation": "process",
                        "messaging.message.id": str(event.id),
                        "hduce.handler": subscription.name,
                    },
                ):
                    await subscription.handler(event)
                return None
            except Exception as error:
                if attempt < self.max_attempts:
                    log.info(
                        "bus.handler_retry",
                        handler=subscription.name,
                        event_id=str(event.id),
                        event_type=event.type,
                        attempt=attempt,
                        error=repr(error),
                    )
                    await asyncio.sleep(self.retry_delay_seconds * attempt)
                    continue
                log.error(
                    "bus.handler_failed",
                    handler=subscription.name,
                    event_id=str(event.id),
                    event_type=event.type,
                    attempts=attempt,
                    exc_info=True,
                )
                letter = DeadLetter(event, subscription.name, error)
                self.dead_letters.append(letter)
                return letter
        return None  # unreachable: the loop returns on the last attempt
