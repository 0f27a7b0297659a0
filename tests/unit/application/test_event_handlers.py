"""The routing table: every event type has an entry, and every event the notification
policy tells someone about reaches the notification handler."""

from __future__ import annotations

from hduce.application.messaging.handlers import EVENT_HANDLERS, Route, event_routes
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.waitlist.offers import OfferFreedSlot
from hduce.domain import events
from hduce.domain.notifications import NOTIFYING_EVENT_TYPES


def routed_to(handler: type) -> frozenset[str]:
    [route] = [route for route in event_routes() if route.handler is handler]
    return route.event_types


def test_every_event_type_of_the_catalogue_has_an_entry() -> None:
    # An empty entry is a decision ("nothing reacts yet"); a missing one is an oversight.
    assert set(EVENT_HANDLERS) == set(events.CATALOGUE.values())
    assert EVENT_HANDLERS[events.UserRegistered] == ()


def test_every_event_the_policy_notifies_about_reaches_the_notification_handler() -> None:
    routed = routed_to(HandleEventNotifications)
    assert routed >= NOTIFYING_EVENT_TYPES, NOTIFYING_EVENT_TYPES - routed
    assert {
        events.APPOINTMENT_REQUESTED,
        events.APPOINTMENT_PROPOSED,
        events.APPOINTMENT_APPROVED,
        events.APPOINTMENT_REJECTED,
        events.APPOINTMENT_CANCELLED,
        events.APPOINTMENT_RESCHEDULED,
        events.APPOINTMENT_CHECKED_IN,
        events.APPOINTMENT_COMPLETED,
        events.APPOINTMENT_NO_SHOW,
        events.REMINDER_DUE,
        events.NEW_DEVICE_SIGNED_IN,
        events.PASSWORD_CHANGED,
        events.WAITLIST_OFFER_MADE,
        events.DOCTOR_INSTITUTION_JOINED,
        events.DOCTOR_INSTITUTION_LEFT,
        events.SERIES_BOOKED,
    } == NOTIFYING_EVENT_TYPES


def test_routes_are_the_table_turned_around_one_per_handler() -> None:
    routes = event_routes()
    assert routes == [
        Route(HandleEventNotifications, NOTIFYING_EVENT_TYPES),
        # A freed slot is offered to the waitlist.
        Route(
            OfferFreedSlot,
            frozenset(
                {
                    events.APPOINTMENT_CANCELLED,
                    events.APPOINTMENT_REJECTED,
                    events.APPOINTMENT_NO_SHOW,
                }
            ),
        ),
    ]
    for route in routes:
        for event_type in route.event_types:
            assert route.handler in EVENT_HANDLERS[events.CATALOGUE[event_type]]
    unrouted = {t for t in events.EVENT_TYPES if not any(t in r.event_types for r in routes)}
    assert unrouted == {events.APPOINTMENT_ENTERED_IN_ERROR, events.USER_REGISTERED}


def test_handlers_name_their_consumer() -> None:
    assert HandleEventNotifications.consumer == "notifications"
