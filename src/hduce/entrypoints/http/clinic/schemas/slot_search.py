"""Bodies of ``GET /api/v1/slots``: free slots across doctors, each naming its doctor."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.availability.slot_search import (
    MAX_DOCTORS_SCANNED,
    FoundSlot,
    SlotSearchResult,
)
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.clinic.schemas.schedule import SlotView
from hduce.entrypoints.http.examples import ex


class SlotSpecialty(msgspec.Struct):
    id: Annotated[UUID, ex(demo.SPECIALTY_ID)]
    name: Annotated[str, ex(demo.SPECIALTY_NAME)]


class SlotDoctor(msgspec.Struct):
    """Whose slot it is (the full profile: ``GET /doctors/{id}``)."""

    id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    full_name: Annotated[str, ex(demo.DOCTOR_NAME)]
    specialty: SlotSpecialty


class FoundSlotView(SlotView, kw_only=True):
    """A free slot as ``GET /doctors/{id}/slots`` gives it, plus its doctor."""

    doctor: SlotDoctor

    @classmethod
    def found(cls, found: FoundSlot) -> FoundSlotView:
        slot, profile = SlotView.of(found.free), found.doctor
        return cls(
            **msgspec.structs.asdict(slot),
            doctor=SlotDoctor(
                id=profile.id,
                full_name=profile.user.full_name,
                specialty=SlotSpecialty(id=profile.specialty.id, name=profile.specialty.name),
            ),
        )


class SlotSearchPage(msgspec.Struct):
    items: Annotated[
        list[FoundSlotView],
        Meta(description="Sorted by start, then by the doctor's name."),
    ]
    doctors_matched: Annotated[
        int, Meta(description="Doctors matching the filters, scanned or not.", examples=[2])
    ]
    doctors_scanned: Annotated[
        int,
        Meta(
            description=f"Doctors whose slots were searched: the first {MAX_DOCTORS_SCANNED} "
            "by name. Fewer than `doctors_matched`: narrow the search.",
            examples=[2],
        ),
    ]
    truncated: Annotated[
        bool,
        Meta(
            description="More slots were free than `limit`: the latest were left out.",
            examples=[False],
        ),
    ]

    @classmethod
    def of(cls, result: SlotSearchResult) -> SlotSearchPage:
        return cls(
            items=[FoundSlotView.found(f) for f in result.slots],
            doctors_matched=result.doctors_matched,
            doctors_scanned=result.doctors_scanned,
            truncated=result.truncated,
        )
