"""Which use cases react to which events: the one routing table.

The message-bus idea of *Architecture Patterns with Python*: events map to the
handlers that react to them, in one place. The in-process bus subscribes from it
today; a broker consumer binds the same event types to the same handlers.

Every event of the catalogue has an entry, an empty one when nothing reacts yet,
so a new event type is a decision made here, not an event silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Final, Protocol

from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.waitlist.offers import OfferFreedSlot
from hduce.domain.events import (
    AppointmentApproved,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentEnteredInError,
    AppointmentNoShow,
    AppointmentProposed,
    AppointmentRejected,
    AppointmentRequested,
    AppointmentRescheduled,
    DoctorJoinedInstitution,
    DoctorLeftInstitution,
    DomainEvent,
    EventPayload,
    NewDeviceSignedIn,
    PasswordChanged,
    ReminderDue,
    SeriesBooked,
    UserRegistered,
    WaitlistOfferMade,
)


class EventConsumer(Protocol):
    """A use case called with one event; it must be idempotent by event id (delivery is
    at least once). ``consumer`` names it in its inbox and in the metrics."""

    consumer: ClassVar[str]

    async def __call__(self, event: DomainEvent) -> object: ...


_NOTIFY: Final = (HandleEventNotifications,)
#: The appointment's slot is free again: tell the parties, then offer it to the waitlist.
_FREED: Final = (HandleEventNotifications, OfferFreedSlot)

#: Payload class -> the handlers that react to it, in calling order.
EVENT_HANDLERS: Final[Mapping[type[EventPayload], tuple[type[EventConsumer], ...]]] = (
    MappingProxyType(
        {
            AppointmentRequested: _NOTIFY,
            AppointmentProposed: _NOTIFY,
            AppointmentApproved: _NOTIFY,
            AppointmentRejected: _FREED,
            AppointmentCancelled: _FREED,  # a reschedule frees its old slot here
            AppointmentRescheduled: _NOTIFY,
            AppointmentCheckedIn: _NOTIFY,
            AppointmentCompleted: _NOTIFY,
            AppointmentNoShow: _FREED,  # (a started slot is offered to nobody)
            AppointmentEnteredInError: (),  # a voided record: nobody is told
            ReminderDue: _NOTIFY,
            SeriesBooked: _NOTIFY,  # the patient's one summary of a booked series
            UserRegistered: (),  # nothing reacts yet (a welcome message would go here)
            NewDeviceSignedIn: _NOTIFY,
            PasswordChanged: _NOTIFY,
            WaitlistOfferMade: _NOTIFY,
            DoctorJoinedInstitution: _NOTIFY,
            DoctorLeftInstitution: _NOTIFY,
        }
    )
)


@dataclass(frozen=True, slots=True)
class Route:
    """One handler and the wire names of every event it reacts to: one subscription."""

    handler: type[EventConsumer]
    event_types: frozenset[str]


def event_routes() -> list[Route]:
    """The table turned around, one route per handler, in the order handlers appear."""
    routes: dict[type[EventConsumer], set[str]] = {}
    for payload, handlers in EVENT_HANDLERS.items():
        for handler in handlers:
            routes.setdefault(handler, set()).add(payload.TYPE)
    return [Route(handler, frozenset(types)) for handler, types in routes.items()]
