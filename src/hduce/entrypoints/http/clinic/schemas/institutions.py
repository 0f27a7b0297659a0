"""Bodies of ``/institutions`` (hospitals, clinics, sites; ADR 0025)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.application.ports import Page
from hduce.domain.institutions import Address, Institution, InstitutionKind
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import Timezone
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import PlainText

InstitutionName = Annotated[
    PlainText, Meta(min_length=1, max_length=200, examples=[demo.INSTITUTION_NAME])
]
Kind = Literal["hospital", "clinic", "site"]
AddressLine = Annotated[PlainText, Meta(max_length=200)]


class AddressIn(msgspec.Struct, forbid_unknown_fields=True):
    line1: Annotated[AddressLine, ex("Calle de Isaac Peral 42")]
    city: Annotated[AddressLine, ex("Madrid")]
    country: Annotated[
        str,
        Meta(
            min_length=2,
            max_length=2,
            pattern="^[A-Za-z]{2}$",
            description="ISO 3166-1 alpha-2 code.",
            examples=["ES"],
        ),
    ]
    line2: Annotated[AddressLine, ex("Edificio B")] = ""
    postal_code: Annotated[AddressLine, ex("28015")] = ""
    region: Annotated[AddressLine, ex("Comunidad de Madrid")] = ""

    def to_domain(self) -> Address:
        return Address(
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postal_code=self.postal_code,
            region=self.region,
            country=self.country,
        )


class AddressView(msgspec.Struct):
    line1: Annotated[str, ex("Calle de Isaac Peral 42")]
    line2: Annotated[str, ex("Edificio B")]
    city: Annotated[str, ex("Madrid")]
    postal_code: Annotated[str, ex("28015")]
    region: Annotated[str, ex("Comunidad de Madrid")]
    country: Annotated[str, ex("ES")]

    @classmethod
    def of(cls, address: Address) -> AddressView:
        return cls(
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            postal_code=address.postal_code,
            region=address.region,
            country=address.country,
        )


class InstitutionCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: InstitutionName
    kind: Annotated[Kind, ex("hospital")]
    address: AddressIn
    timezone: Annotated[
        Timezone, Meta(description="IANA time zone of the place.", examples=[demo.TIMEZONE])
    ]


class InstitutionPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: InstitutionName | UnsetType = UNSET
    kind: Annotated[Kind, ex("clinic")] | UnsetType = UNSET
    address: AddressIn | UnsetType = UNSET
    timezone: Timezone | UnsetType = UNSET


class InstitutionView(msgspec.Struct):
    id: Annotated[UUID, ex(demo.INSTITUTION_ID)]
    name: Annotated[str, ex(demo.INSTITUTION_NAME)]
    kind: Annotated[str, ex("hospital")]
    address: AddressView
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    is_active: Annotated[bool, ex(True)]
    version: Annotated[int, ex(1)]

    @classmethod
    def of(cls, institution: Institution) -> InstitutionView:
        return cls(
            id=institution.id,
            name=institution.name,
            kind=institution.kind.value,
            address=AddressView.of(institution.address),
            timezone=institution.timezone,
            is_active=institution.is_active,
            version=institution.version,
        )


class InstitutionPage(msgspec.Struct):
    items: list[InstitutionView]
    total: Annotated[int, ex(1)]
    limit: Annotated[int, ex(20)]
    offset: Annotated[int, ex(0)]

    @classmethod
    def of(cls, page: Page[Institution]) -> InstitutionPage:
        return cls(
            items=[InstitutionView.of(i) for i in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )


def kind_of(kind: Kind) -> InstitutionKind:
    return InstitutionKind(kind)
