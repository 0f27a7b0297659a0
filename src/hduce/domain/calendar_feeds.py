"""Calendar feeds: which appointments a subscribed calendar is sent, and how each
one's revision is numbered (ADR 0023).

* The window: appointments starting from ``PAST`` ago to ``AHEAD`` from now.
* A cancelled, rejected or voided appointment stays in the feed, as STATUS:CANCELLED,
  for ``CANCELLED_KEPT`` after its last change, so calendar clients that merge feeds
  (rather than replace them) see the cancellation and drop the event; after that it
  leaves the feed.
* SEQUENCE is the appointment's version: it grows with every change (RFC 5545 3.8.7.4
  wants it to grow when the event is revised), so a client keeps the newest copy.
* A feed is its owner's: a patient's shows their own appointments, a doctor's their
  agenda; admins have no personal calendar to subscribe to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.identity import Role

PAST: Final = timedelta(days=30)
AHEAD: Final = timedelta(days=365)
CANCELLED_KEPT: Final = timedelta(days=30)
#: An owner's feeds at once (revoked ones do not count).
MAX_ACTIVE_FEEDS: Final = 10
#: The roles that have a personal calendar.
FEED_ROLES: Final = frozenset({Role.PATIENT, Role.DOCTOR})
#: Statuses a calendar shows as STATUS:CANCELLED.
CANCELLED_STATUSES: Final = frozenset(
    {AppointmentStatus.CANCELLED, AppointmentStatus.REJECTED, AppointmentStatus.ENTERED_IN_ERROR}
)


@dataclass(frozen=True, slots=True)
class FeedWindow:
    """Appointments with ``start <= starts_at < end`` are candidates for the feed."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, now: datetime) -> FeedWindow:
        return cls(start=now - PAST, end=now + AHEAD)


def is_cancelled(status: AppointmentStatus) -> bool:
    return status in CANCELLED_STATUSES


def in_feed(
    status: AppointmentStatus, *, starts_at: datetime, updated_at: datetime, now: datetime
) -> bool:
    """Whether a calendar subscribed now is sent this appointment."""
    window = FeedWindow.around(now)
    if not window.start <= starts_at < window.end:
        return False
    return not is_cancelled(status) or now - updated_at <= CANCELLED_KEPT


def sequence(version: int) -> int:
    """The VEVENT's SEQUENCE for an appointment at ``version`` (never negative)."""
    return max(0, version)
