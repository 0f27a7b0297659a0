"""The statuses of an appointment and the lines of its history (kept apart so the
event catalogue and the privacy rules can name them without importing the aggregate,
which records those events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from hduce.domain.identity import Role


class AppointmentStatus(StrEnum):
    PENDING = "pending"  # the patient asked; the doctor answers
    PROPOSED = "proposed"  # the doctor offered; the patient answers
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
    {
        AppointmentStatus.PENDING,
        AppointmentStatus.PROPOSED,
        AppointmentStatus.APPROVED,
        AppointmentStatus.CHECKED_IN,
    }
)
TERMINAL_STATUSES = frozenset(AppointmentStatus) - OCCUPYING_STATUSES
#: Waiting for an answer (the doctor's, the patient's): the system cancels them once
#: the visit should have started.
UNANSWERED = frozenset({AppointmentStatus.PENDING, AppointmentStatus.PROPOSED})


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One line of the append-only history. ``from_status`` is None for creation."""

    from_status: AppointmentStatus | None
    to_status: AppointmentStatus
    at: datetime
    actor_role: Role
    actor_id: UUID | None
    reason: str | None = None
