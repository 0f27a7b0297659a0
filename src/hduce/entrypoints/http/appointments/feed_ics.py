"""A calendar feed as one iCalendar (RFC 5545) document, for subscribing calendars.

One VEVENT per appointment, with the UID of ``ics.event_uid`` (a file downloaded
before and the feed name the same event), SEQUENCE from the appointment's version
(``calendar_feeds.sequence``), STATUS CANCELLED for cancelled, rejected and voided
visits, DTSTAMP/LAST-MODIFIED at its last change. No METHOD: a published calendar
is no scheduling message (RFC 5546 applies to invitations, not subscriptions).

A feed ends up in third-party calendars (Google, Apple, Outlook): it says who meets
whom and when, as the owner may see it (``privacy.is_party``) and nothing more: no
email addresses, no reason for the visit, no clinical notes.
"""

from __future__ import annotations

import hashlib
from typing import Final

from hduce.application.appointments.feeds import FeedDocument, FeedEntry
from hduce.domain.calendar_feeds import sequence
from hduce.domain.identity import Role
from hduce.entrypoints.http.appointments.ics import PRODUCT_ID, event_status, event_uid

#: How often calendar apps should poll (``REFRESH-INTERVAL``, RFC 7986; and the
#: ``X-PUBLISHED-TTL`` Outlook and Apple read).
REFRESH: Final = "PT30M"


def feed_ics(document: FeedDocument) -> bytes:
    # Imported on first use, as in ics.py.
    from icalendar import Calendar, Event, vDuration

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = "Agenda" if document.owner_role is Role.DOCTOR else "Appointments"
    calendar.add("x-wr-calname", f"HDUCE {name}: {document.owner_name}")
    calendar.add("name", f"HDUCE {name}")
    refresh = vDuration.from_ical(REFRESH)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for entry in document.entries:
        appointment = entry.appointment
        event = Event()
        event.add("uid", event_uid(appointment))
        event.add("sequence", sequence(appointment.version))
        event.add("dtstamp", appointment.updated_at)
        event.add("created", appointment.created_at)
        event.add("last-modified", appointment.updated_at)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("status", event_status(appointment.status))
        event.add("summary", _summary(document.owner_role, entry))
        event.add("description", f"Status: {appointment.status.value.replace('_', ' ')}")
        event.add("transp", "TRANSPARENT" if event["STATUS"] == "CANCELLED" else "OPAQUE")
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body


def _summary(owner_role: Role, entry: FeedEntry) -> str:
    if owner_role is Role.DOCTOR:
        return f"Appointment: {entry.patient_name or 'a patient'}"
    return f"Medical appointment with {entry.doctor_name or 'the doctor'}"


def feed_etag(body: bytes) -> str:
    """A strong ETag of the document: its bytes decide (a change of any event, or an
    event entering or leaving the window, changes it)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, current: str) -> bool:
    """``If-None-Match`` compares weakly (RFC 9110 13.1.2): ``W/`` is ignored."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == current for tag in if_none_match.split(","))
