"""Bodies of ``/specialties`` (the catalogue's specialties)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.domain.clinic import Specialty
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import MultilineText, PlainText

SpecialtyName = Annotated[
    PlainText, Meta(min_length=1, max_length=120, examples=[demo.SPECIALTY_NAME])
]
Description = Annotated[MultilineText, Meta(max_length=2000, examples=[demo.SPECIALTY_DESCRIPTION])]
SpecialtyId = Annotated[UUID, ex(demo.SPECIALTY_ID)]


class SpecialtyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: SpecialtyName
    description: Description = ""


class SpecialtyPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: SpecialtyName | UnsetType = UNSET
    description: Description | UnsetType = UNSET


class SpecialtyView(msgspec.Struct):
    id: SpecialtyId
    name: Annotated[str, ex(demo.SPECIALTY_NAME)]
    description: Annotated[str, ex(demo.SPECIALTY_DESCRIPTION)]

    @classmethod
    def of(cls, specialty: Specialty) -> SpecialtyView:
        return cls(id=specialty.id, name=specialty.name, description=specialty.description)
