"""Request and response bodies of ``/waitlist`` (msgspec, validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.domain.waitlist import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http import inputs
from hduce.entrypoints.http.examples import ex

ENTRY_ID: Final = "01b8e3b7-1a2b-7c3d-8e4f-5a6b7c8d9e01"
OFFER_ID: Final = "01b8e3b8-2b3c-7d4e-9f5a-6b7c8d9e0f12"
EARLIEST: Final = "2030-01-08T08:00:00+01:00"
LATEST: Final = "2030-01-10T18:00:00+01:00"
EXPIRES_AT: Final = "2030-01-06T10:15:00Z"


class JoinWaitlistRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Wait for a slot of this doctor between ``earliest`` and ``latest`` (at most 92
    days apart). A slot of that doctor wholly inside the window that frees is offered to
    the earliest-joined patient waiting for it."""

    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    earliest: Annotated[inputs.Instant, ex(EARLIEST)]
    latest: Annotated[inputs.Instant, ex(LATEST)]
    #: An optional label of the kind of visit wanted (kept as given).
    visit_type: (
        Annotated[inputs.PlainText, Meta(min_length=1, max_length=100, examples=["follow-up"])]
        | None
    ) = None
    #: One of the doctor's visit types (``GET /doctors/{id}/visit-types``): a freed slot
    #: is then offered only if a visit of that type, buffers included, fits in the time
    #: it freed, and accepting books that type.
    visit_type_id: Annotated[UUID | None, ex(None, demo.VISIT_TYPE_ID)] = None


class WaitlistEntryView(msgspec.Struct):
    id: Annotated[UUID, ex(ENTRY_ID)]
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    earliest: Annotated[datetime, ex("2030-01-08T07:00:00Z")]
    latest: Annotated[datetime, ex("2030-01-10T17:00:00Z")]
    visit_type: Annotated[str | None, ex(None, "follow-up")]
    visit_type_id: Annotated[UUID | None, ex(None, demo.VISIT_TYPE_ID)]
    status: Annotated[EntryStatus, ex("waiting")]
    created_at: Annotated[datetime, ex("2030-01-05T09:00:00Z")]

    @classmethod
    def of(cls, entry: WaitlistEntry) -> WaitlistEntryView:
        return cls(
            id=entry.id,
            doctor_id=entry.doctor_id,
            earliest=entry.window.start,
            latest=entry.window.end,
            visit_type=entry.visit_type,
            visit_type_id=entry.visit_type_id,
            status=entry.status,
            created_at=entry.created_at,
        )


class WaitlistEntryList(msgspec.Struct):
    items: list[WaitlistEntryView]


class WaitlistOfferView(msgspec.Struct):
    id: Annotated[UUID, ex(OFFER_ID)]
    entry_id: Annotated[UUID, ex(ENTRY_ID)]
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    starts_at: Annotated[datetime, ex(demo.STARTS_AT_UTC)]
    ends_at: Annotated[datetime, ex("2030-01-08T08:30:00Z")]
    #: Until when it is held for you: accept or decline before then.
    expires_at: Annotated[datetime, ex(EXPIRES_AT)]
    status: Annotated[OfferStatus, ex("offered")]
    #: The appointment it was booked as (``booked`` offers only).
    appointment_id: Annotated[UUID | None, ex(None, demo.APPOINTMENT_ID)]

    @classmethod
    def of(cls, offer: WaitlistOffer) -> WaitlistOfferView:
        return cls(
            id=offer.id,
            entry_id=offer.entry_id,
            doctor_id=offer.doctor_id,
            starts_at=offer.slot.start,
            ends_at=offer.slot.end,
            expires_at=offer.expires_at,
            status=offer.status,
            appointment_id=offer.appointment_id,
        )


class WaitlistOfferList(msgspec.Struct):
    items: list[WaitlistOfferView]
