"""Request and response bodies of ``/appointments`` (msgspec, validated at the edge).

Timestamps must carry a UTC offset (``2030-01-08T10:00:00Z`` or ``...+01:00``); a
naive one is refused by the use cases with a 400 naming the field. They lie between
1900 and 2200 (``inputs.Instant``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.ports import ListedAppointment, Page
from hduce.domain.appointments import Appointment, AppointmentStatus, StatusChange
from hduce.domain.identity import Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http import inputs
from hduce.entrypoints.http.examples import ex

#: A visit's reason (multi-line); the reasons of status changes are quoted in emails
#: and SMS, so they are single-line (``domain.appointments``).
Reason = Annotated[inputs.MultilineText, Meta(max_length=2000, examples=[demo.VISIT_REASON])]
ChangeReason = Annotated[
    inputs.PlainText, Meta(max_length=2000, examples=["Please see a specialist first"])
]
RequiredReason = Annotated[
    inputs.PlainText, Meta(min_length=1, max_length=2000, examples=["The doctor is away that day"])
]
Notes = Annotated[
    inputs.MultilineText,
    Meta(max_length=10_000, examples=["Viral bronchitis. Rest and fluids; review in 2 weeks"]),
]
Instant = Annotated[inputs.Instant, ex(demo.STARTS_AT_LOCAL)]


class BookAppointmentRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Book a visit. Patients book for themselves (omit ``patient_id``); the doctor books
    on their own calendar and an admin for anyone (``patient_id`` required)."""

    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    starts_at: Instant
    #: Defaults to ``starts_at`` + the doctor's visit length.
    ends_at: Annotated[Instant, ex(demo.ENDS_AT_LOCAL)] | None = None
    reason: Reason = ""
    patient_id: Annotated[UUID, ex(demo.PATIENT_ID)] | None = None
    #: Admins only: book straight into APPROVED (a doctor's booking is a proposal).
    approve: Annotated[bool, ex(True)] | None = None
    #: One of the doctor's visit types: its duration, buffers, booking horizon and
    #: minimum notice apply (leave ``ends_at`` out). Without it: the doctor's visit
    #: length, no buffers, the clinic's horizon and notice.
    visit_type_id: Annotated[UUID, ex(demo.VISIT_TYPE_ID)] | None = None


class ReasonRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: RequiredReason


class DeclineRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: Why, for the doctor (optional).
    reason: ChangeReason | None = None


class CompleteRequest(msgspec.Struct, forbid_unknown_fields=True):
    notes: Notes | None = None


class RescheduleRequest(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Annotated[Instant, ex(demo.NEW_STARTS_AT_LOCAL)]
    #: Defaults to ``starts_at`` + the current visit's length.
    ends_at: Annotated[Instant, ex(demo.NEW_ENDS_AT_LOCAL)] | None = None
    #: The new visit's reason; defaults to the current one.
    reason: Reason | None = None


class StatusChangeView(msgspec.Struct):
    #: Null for the booking itself.
    from_status: Annotated[AppointmentStatus, ex("pending")] | None
    to_status: Annotated[AppointmentStatus, ex("approved")]
    at: Annotated[datetime, ex(demo.APPROVED_AT)]
    actor_role: Annotated[Role, ex("doctor")]
    reason: Annotated[str | None, ex(None, "The doctor is away that day")]

    @classmethod
    def of(cls, change: StatusChange) -> StatusChangeView:
        return cls(
            from_status=change.from_status,
            to_status=change.to_status,
            at=change.at,
            actor_role=change.actor_role,
            reason=change.reason,
        )


class AppointmentView(msgspec.Struct):
    """An appointment as both parties (and admins) see it, history included."""

    id: Annotated[UUID, ex(demo.APPOINTMENT_ID)]
    patient_id: Annotated[UUID, ex(demo.PATIENT_ID)]
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    starts_at: Annotated[datetime, ex(demo.STARTS_AT_UTC)]
    ends_at: Annotated[datetime, ex(demo.ENDS_AT_UTC)]
    status: Annotated[AppointmentStatus, ex("approved")]
    reason: Annotated[str, ex(demo.VISIT_REASON)]
    #: Written by the doctor on completion; visible to both parties.
    doctor_notes: Annotated[str | None, ex(None, "Viral bronchitis. Rest and fluids")]
    cancelled_by: Annotated[Role | None, ex(None, "patient")]
    cancellation_reason: Annotated[str | None, ex(None, "Feeling better")]
    rejection_reason: Annotated[str | None, ex(None, "Please see a specialist first")]
    #: The appointment this one reschedules.
    replaces: Annotated[UUID | None, ex(None, demo.APPOINTMENT_ID)]
    check_in_code: Annotated[
        str | None,
        Meta(
            description="Shown at a check-in kiosk (typed, or as the QR code of the "
            "confirmation email and the .ics) to check in on arrival; 8 characters",
            examples=[demo.CHECK_IN_CODE],
        ),
    ]
    #: Increases by one with every change; sent as the ``ETag`` (``If-Match`` it back).
    version: Annotated[int, ex(2)]
    created_at: Annotated[datetime, ex(demo.BOOKED_AT)]
    updated_at: Annotated[datetime, ex(demo.APPROVED_AT)]
    #: The visit type it was booked for (null: none). The visit keeps the length and
    #: buffers it was booked with when the type changes later.
    visit_type_id: Annotated[UUID | None, ex(None, demo.VISIT_TYPE_ID)]
    #: The doctor's time blocked before and after the visit, in minutes.
    buffer_before_minutes: Annotated[int, ex(0, 10)]
    buffer_after_minutes: Annotated[int, ex(0, 5)]
    #: Where the visit takes place: the institution whose hours covered the slot when it
    #: was booked (null: the doctor's unassigned hours; ADR 0025).
    institution_id: Annotated[UUID | None, ex(demo.INSTITUTION_ID, None)]
    #: Oldest first: the booking (``from_status`` null), then every change.
    history: list[StatusChangeView]

    @classmethod
    def of(cls, appointment: Appointment) -> AppointmentView:
        return cls(
            id=appointment.id,
            patient_id=appointment.patient_id,
            doctor_id=appointment.doctor_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            status=appointment.status,
            reason=appointment.reason,
            doctor_notes=appointment.doctor_notes,
            cancelled_by=appointment.cancelled_by,
            cancellation_reason=appointment.cancellation_reason,
            rejection_reason=appointment.rejection_reason,
            replaces=appointment.replaces,
            check_in_code=appointment.check_in_code,
            version=appointment.version,
            created_at=appointment.created_at,
            updated_at=appointment.updated_at,
            visit_type_id=appointment.visit_type_id,
            buffer_before_minutes=int(appointment.buffers.before.total_seconds() // 60),
            buffer_after_minutes=int(appointment.buffers.after.total_seconds() // 60),
            institution_id=appointment.institution_id,
            history=[StatusChangeView.of(change) for change in appointment.history],
        )


class AppointmentPage(msgspec.Struct):
    items: list[AppointmentView]
    total: Annotated[int, ex(23)]
    limit: Annotated[int, ex(20)]
    offset: Annotated[int, ex(0)]
    #: The next page (same filters), or null on the last one.
    next: Annotated[str, ex("/api/v1/appointments?status=approved&limit=20&offset=20")] | None

    @classmethod
    def of(cls, page: Page[Appointment], next_link: str | None) -> AppointmentPage:
        return cls(
            items=[AppointmentView.of(appointment) for appointment in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next=next_link,
        )


class _ListedPage(msgspec.Struct):
    """``AppointmentPage`` as the read model gives it: its ``ListedAppointment``s (data
    classes with the fields of ``AppointmentView``, in its order) encode to the same JSON
    as the views would, without building them."""

    items: Sequence[ListedAppointment]
    total: int
    limit: int
    offset: int
    next: str | None


_PAGE_ENCODER: Final = msgspec.json.Encoder()


def encode_listed_page(page: Page[ListedAppointment], next_link: str | None) -> bytes:
    """The JSON of ``AppointmentPage`` for a page of the read model (byte for byte that of
    ``AppointmentPage.of`` on the same appointments)."""
    return _PAGE_ENCODER.encode(
        _ListedPage(page.items, page.total, page.limit, page.offset, next_link)
    )


class StoredIdentity(msgspec.Struct):
    """The bits of a stored (replayed) ``AppointmentView`` its headers are made from."""

    id: UUID
    version: int
