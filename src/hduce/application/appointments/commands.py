"""What the appointment use cases are asked to do (the HTTP layer builds these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from hduce.domain.identity import Actor


@dataclass(frozen=True, slots=True)
class BookAppointmentCommand:
    actor: Actor
    doctor_id: UUID
    starts_at: datetime
    patient_id: UUID | None = None  # defaults to the acting patient
    ends_at: datetime | None = None  # defaults to the doctor's visit length
    reason: str = ""
    approve: bool | None = None  # admins may book straight into APPROVED
    #: The doctor's visit type: its duration, buffers, horizon and notice apply
    #: (``ends_at`` must then be left out). None: the doctor's visit length, no buffers.
    visit_type_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class TransitionCommand:
    """approve / reject / accept / decline / cancel / check-in / complete / no-show /
    entered-in-error."""

    actor: Actor
    appointment_id: UUID
    expected_version: int | None = None  # from If-Match; None = whatever is current
    reason: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RescheduleCommand:
    actor: Actor
    appointment_id: UUID
    starts_at: datetime
    ends_at: datetime | None = None
    reason: str | None = None
    expected_version: int | None = None  # from If-Match (of the appointment being moved)
