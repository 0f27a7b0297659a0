"""Domain events and their envelope (docs/architecture.md, "The event flow").

An event is a fact that already happened. Aggregates record them; the unit of
work writes them to the outbox in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from hduce.domain.ids import uuid7

APPOINTMENT_REQUESTED: Final = "appointment.requested"
APPOINTMENT_APPROVED: Final = "appointment.approved"
APPOINTMENT_REJECTED: Final = "appointment.rejected"
APPOINTMENT_CANCELLED: Final = "appointment.cancelled"
APPOINTMENT_RESCHEDULED: Final = "appointment.rescheduled"
APPOINTMENT_CHECKED_IN: Final = "appointment.checked_in"
APPOINTMENT_COMPLETED: Final = "appointment.completed"
APPOINTMENT_NO_SHOW: Final = "appointment.no_show"
APPOINTMENT_ENTERED_IN_ERROR: Final = "appointment.entered_in_error"
REMINDER_DUE: Final = "reminder.due"
USER_REGISTERED: Final = "user.registered"

EVENT_TYPES: Final = frozenset(
    {
        APPOINTMENT_REQUESTED,
        APPOINTMENT_APPROVED,
        APPOINTMENT_REJECTED,
        APPOINTMENT_CANCELLED,
        APPOINTMENT_RESCHEDULED,
        APPOINTMENT_CHECKED_IN,
        APPOINTMENT_COMPLETED,
        APPOINTMENT_NO_SHOW,
        APPOINTMENT_ENTERED_IN_ERROR,
        REMINDER_DUE,
        USER_REGISTERED,
    }
)

#: JSON-compatible payload values only, so any bus and any database can carry it.
Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: str
    occurred_at: datetime
    aggregate_id: UUID
    aggregate_version: int
    payload: Payload
    correlation_id: str | None = None
    id: UUID = field(default_factory=uuid7)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")

    def correlated(self, correlation_id: str | None) -> DomainEvent:
        """The same event stamped with the request that caused it (if not stamped yet)."""
        if self.correlation_id is not None or correlation_id is None:
            return self
        return replace(self, correlation_id=correlation_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "aggregate_id": str(self.aggregate_id),
            "aggregate_version": self.aggregate_version,
            "correlation_id": self.correlation_id,
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DomainEvent:
        return cls(
            id=UUID(data["id"]),
            type=data["type"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            aggregate_id=UUID(data["aggregate_id"]),
            aggregate_version=int(data["aggregate_version"]),
            correlation_id=data.get("correlation_id"),
            payload=dict(data["payload"]),
        )
