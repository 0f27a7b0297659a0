"""The statuses of an appointment (kept apart so the event catalogue can name them
without importing the aggregate, which records those events)."""

from __future__ import annotations

from enum import StrEnum


class AppointmentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    CHECKED_IN = "checked_in"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    ENTERED_IN_ERROR = "entered_in_error"

    @property
    def is_occupying(self) -> bool:
        return self in OCCUPYING_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self not in OCCUPYING_STATUSES


OCCUPYING_STATUSES = frozenset(
    {AppointmentStatus.PENDING, AppointmentStatus.APPROVED, AppointmentStatus.CHECKED_IN}
)
TERMINAL_STATUSES = frozenset(AppointmentStatus) - OCCUPYING_STATUSES
