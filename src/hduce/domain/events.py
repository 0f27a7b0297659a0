"""Domain events: the catalogue of what can happen, and the envelope that carries it.

An event is a fact that already happened. Aggregates record them; the unit of
work writes them to the outbox in the same transaction as the change.

Each event type has one payload class here, naming its wire type in ``TYPE``;
``CATALOGUE`` maps wire names back to classes, so a codec at the edges (JSON in
the outbox, a broker message) can decode what it reads into the right class.
Payload fields are flat values (UUID, aware datetime, enum, str, int, None) so
any bus and any database can carry them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar, Final
from uuid import UUID

from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class EventPayload:
    """What an event says. Concrete classes name their wire type in ``TYPE``."""

    TYPE: ClassVar[str]


# ------------------------------------------------------------------ appointments


@dataclass(frozen=True, slots=True)
class AppointmentPayload(EventPayload):
    """An event about one appointment, between its patient and its doctor."""

    appointment_id: UUID
    patient_id: UUID
    doctor_id: UUID
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")


@dataclass(frozen=True, slots=True)
class AppointmentTransition(AppointmentPayload):
    """One step of the state machine; ``from_status`` is None when it was just booked."""

    from_status: AppointmentStatus | None
    status: AppointmentStatus
    actor_role: Role
    actor_id: UUID | None  # None for the system
    reason: str | None
    replaces: UUID | None  # the appointment this one was rescheduled from


@dataclass(frozen=True, slots=True)
class AppointmentRequested(AppointmentTransition):
    TYPE: ClassVar[str] = "appointment.requested"

    series_id: UUID | None = None  # booked as an occurrence of this recurring series


@dataclass(frozen=True, slots=True)
class AppointmentProposed(AppointmentTransition):
    """The doctor booked for the patient: an offer the patient accepts or declines."""

    TYPE: ClassVar[str] = "appointment.proposed"

    series_id: UUID | None = None  # booked as an occurrence of this recurring series


@dataclass(frozen=True, slots=True)
class AppointmentApproved(AppointmentTransition):
    """Confirmed: approved by the doctor (or an admin), or a proposal accepted."""

    TYPE: ClassVar[str] = "appointment.approved"

    series_id: UUID | None = None  # booked (by an admin) as an occurrence of this series


#: The payloads of a new booking, which may be an occurrence of a series (``series_id``).
BookingPayload = AppointmentRequested | AppointmentProposed | AppointmentApproved


@dataclass(frozen=True, slots=True)
class AppointmentRejected(AppointmentTransition):
    """A request rejected by the doctor, or a proposal declined by the patient."""

    TYPE: ClassVar[str] = "appointment.rejected"


@dataclass(frozen=True, slots=True)
class AppointmentCancelled(AppointmentTransition):
    TYPE: ClassVar[str] = "appointment.cancelled"

    rescheduled_to: UUID | None = None  # set when this cancellation is half of a reschedule


@dataclass(frozen=True, slots=True)
class AppointmentRescheduled(AppointmentTransition):
    """The replacement was booked (its ``replaces`` names the cancelled one)."""

    TYPE: ClassVar[str] = "appointment.rescheduled"


@dataclass(frozen=True, slots=True)
class AppointmentCheckedIn(AppointmentTransition):
    TYPE: ClassVar[str] = "appointment.checked_in"


@dataclass(frozen=True, slots=True)
class AppointmentCompleted(AppointmentTransition):
    TYPE: ClassVar[str] = "appointment.completed"


@dataclass(frozen=True, slots=True)
class AppointmentNoShow(AppointmentTransition):
    TYPE: ClassVar[str] = "appointment.no_show"


@dataclass(frozen=True, slots=True)
class AppointmentEnteredInError(AppointmentTransition):
    TYPE: ClassVar[str] = "appointment.entered_in_error"


@dataclass(frozen=True, slots=True)
class ReminderDue(AppointmentPayload):
    """An approved visit starts in ``offset_seconds`` (one of the reminder offsets)."""

    TYPE: ClassVar[str] = "reminder.due"

    offset_seconds: int
    status: AppointmentStatus


@dataclass(frozen=True, slots=True)
class SeriesBooked(EventPayload):
    """A recurring series was booked: ``booked`` occurrences of its ``total`` (the
    others could not be). The patient is told once, by this summary, instead of once
    per occurrence (whose booking events carry the ``series_id``)."""

    TYPE: ClassVar[str] = "appointment.series_booked"

    series_id: UUID
    patient_id: UUID
    doctor_id: UUID
    booked: int
    total: int
    #: The status the occurrences were booked in (pending, proposed or approved).
    status: AppointmentStatus
    first_starts_at: datetime  # of the first booked occurrence
    last_starts_at: datetime  # of the last booked occurrence
    actor_role: Role
    actor_id: UUID | None

    def __post_init__(self) -> None:
        _require_aware(self.first_starts_at, "first_starts_at")
        _require_aware(self.last_starts_at, "last_starts_at")


# ------------------------------------------------------------------ waitlist


@dataclass(frozen=True, slots=True)
class WaitlistOfferMade(EventPayload):
    """A freed slot was offered to a waiting patient, held until ``expires_at``."""

    TYPE: ClassVar[str] = "waitlist.offer_made"

    offer_id: UUID
    entry_id: UUID
    patient_id: UUID
    doctor_id: UUID
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        _require_aware(self.expires_at, "expires_at")


# ------------------------------------------------------------------ institutions


@dataclass(frozen=True, slots=True)
class DoctorJoinedInstitution(EventPayload):
    """An admin said the doctor works at an institution (ADR 0025); the doctor is told."""

    TYPE: ClassVar[str] = "doctor.institution_joined"

    institution_id: UUID
    institution_name: str
    doctor_id: UUID


@dataclass(frozen=True, slots=True)
class DoctorLeftInstitution(EventPayload):
    """An admin said the doctor no longer works at an institution; the doctor is told."""

    TYPE: ClassVar[str] = "doctor.institution_left"

    institution_id: UUID
    institution_name: str
    doctor_id: UUID


# ------------------------------------------------------------------ identity


@dataclass(frozen=True, slots=True)
class UserRegistered(EventPayload):
    TYPE: ClassVar[str] = "user.registered"

    user_id: UUID
    email: str
    full_name: str
    role: Role
    via: str  # how the account was made: "password", "google" or "admin"


@dataclass(frozen=True, slots=True)
class NewDeviceSignedIn(EventPayload):
    """The account signed in from a client and network none of its earlier sessions
    had (``hduce.domain.sessions``); its owner is told in the app and by email."""

    TYPE: ClassVar[str] = "user.new_device_signed_in"

    user_id: UUID
    session_id: UUID
    client: str  # "Firefox on Linux"
    network: str | None  # "203.0.113.0/24": never the full address
    signed_in_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.signed_in_at, "signed_in_at")


@dataclass(frozen=True, slots=True)
class PasswordChanged(EventPayload):
    """The account's owner changed its password (signed in, with the old one); every
    other session was ended. The owner is told by email."""

    TYPE: ClassVar[str] = "user.password_changed"

    user_id: UUID
    changed_at: datetime
    sessions_ended: int

    def __post_init__(self) -> None:
        _require_aware(self.changed_at, "changed_at")


# ------------------------------------------------------------------ the catalogue

#: Wire name -> payload class, for every event there is.
CATALOGUE: Final[Mapping[str, type[EventPayload]]] = MappingProxyType(
    {
        payload.TYPE: payload
        for payload in (
            AppointmentRequested,
            AppointmentProposed,
            AppointmentApproved,
            AppointmentRejected,
            AppointmentCancelled,
            AppointmentRescheduled,
            AppointmentCheckedIn,
            AppointmentCompleted,
            AppointmentNoShow,
            AppointmentEnteredInError,
            ReminderDue,
            SeriesBooked,
            UserRegistered,
            NewDeviceSignedIn,
            PasswordChanged,
            WaitlistOfferMade,
            DoctorJoinedInstitution,
            DoctorLeftInstitution,
        )
    }
)
EVENT_TYPES: Final = frozenset(CATALOGUE)

# The wire names, for subscriptions and tables keyed by name.
APPOINTMENT_REQUESTED: Final = AppointmentRequested.TYPE
APPOINTMENT_PROPOSED: Final = AppointmentProposed.TYPE
APPOINTMENT_APPROVED: Final = AppointmentApproved.TYPE
APPOINTMENT_REJECTED: Final = AppointmentRejected.TYPE
APPOINTMENT_CANCELLED: Final = AppointmentCancelled.TYPE
APPOINTMENT_RESCHEDULED: Final = AppointmentRescheduled.TYPE
APPOINTMENT_CHECKED_IN: Final = AppointmentCheckedIn.TYPE
APPOINTMENT_COMPLETED: Final = AppointmentCompleted.TYPE
APPOINTMENT_NO_SHOW: Final = AppointmentNoShow.TYPE
APPOINTMENT_ENTERED_IN_ERROR: Final = AppointmentEnteredInError.TYPE
REMINDER_DUE: Final = ReminderDue.TYPE
SERIES_BOOKED: Final = SeriesBooked.TYPE
USER_REGISTERED: Final = UserRegistered.TYPE
NEW_DEVICE_SIGNED_IN: Final = NewDeviceSignedIn.TYPE
PASSWORD_CHANGED: Final = PasswordChanged.TYPE
WAITLIST_OFFER_MADE: Final = WaitlistOfferMade.TYPE
DOCTOR_INSTITUTION_JOINED: Final = DoctorJoinedInstitution.TYPE
DOCTOR_INSTITUTION_LEFT: Final = DoctorLeftInstitution.TYPE


# ------------------------------------------------------------------ the envelope


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """The envelope: which aggregate, at which version, when, for which request, what."""

    occurred_at: datetime
    aggregate_id: UUID
    aggregate_version: int
    payload: EventPayload
    correlation_id: str | None = None
    id: UUID = field(default_factory=uuid7)
    #: The W3C trace context (``traceparent``, ``tracestate``) of the operation that
    #: caused it, when tracing is on: kept beside the event in the outbox, never in
    #: its JSON, and not part of its identity.
    trace_context: Mapping[str, str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        kind = type(self.payload)
        if CATALOGUE.get(getattr(kind, "TYPE", "")) is not kind:
            raise ValueError(f"{kind.__qualname__} is not an event type of the catalogue")
        _require_aware(self.occurred_at, "occurred_at")

    @property
    def type(self) -> str:
        """The wire name, e.g. ``appointment.approved`` (from the payload's class)."""
        return self.payload.TYPE

    def correlated(self, correlation_id: str | None) -> DomainEvent:
        """The same event stamped with the request that caused it (if not stamped yet)."""
        if self.correlation_id is not None or correlation_id is None:
            return self
        return replace(self, correlation_id=correlation_id)

    def traced(self, trace_context: Mapping[str, str] | None) -> DomainEvent:
        """The same event with the trace context it was caused in (if none yet)."""
        if self.trace_context is not None or not trace_context:
            return self
        return replace(self, trace_context=trace_context)
