"""Bodies of ``/doctors`` (the catalogue's doctors; their calendars are in ``schedule``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.application.clinic import DoctorProfile
from hduce.application.ports import Page
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import Email, FullName, Password, Phone, Timezone
from hduce.entrypoints.http.clinic.schemas.specialties import SpecialtyId, SpecialtyView
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import MultilineText, PlainText

Licence = Annotated[PlainText, Meta(min_length=1, max_length=64, examples=[demo.DOCTOR_LICENCE])]
Fee = Annotated[
    Decimal,
    Meta(
        description="Amount in the clinic's currency, at most two decimals (a JSON number "
        "or a decimal string; answered as a string so no precision is lost).",
        examples=["60.00"],
        extra_json_schema={"extra": {"pattern": r"^\d{1,6}(?:\.\d{1,2})?$"}},
    ),
]
VisitMinutes = Annotated[
    int, Meta(ge=5, le=480, description="Default visit length in minutes.", examples=[30])
]
Bio = Annotated[MultilineText, Meta(max_length=4000, examples=[demo.DOCTOR_BIO])]
Version = Annotated[int, Meta(ge=1, description="The version this edit is based on.", examples=[3])]
DoctorId = Annotated[UUID, ex(demo.DOCTOR_ID)]


class DoctorCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The doctor's account and profile. Without ``password`` the account has none:
    the doctor signs in with Google (same email) until a password is set."""

    email: Annotated[Email, ex(demo.DOCTOR_EMAIL)]
    full_name: Annotated[FullName, ex(demo.DOCTOR_NAME)]
    licence_number: Licence
    specialty_id: SpecialtyId
    consultation_fee: Fee = Decimal("0")
    visit_minutes: VisitMinutes = 30
    timezone: Timezone | None = None
    bio: Bio = ""
    phone: Annotated[Phone, ex(demo.DOCTOR_PHONE)] | None = None
    password: Password | None = None


class DoctorPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change. ``licence_number`` and ``specialty_id``: admin only.
    ``version`` (or the ``If-Match`` header) makes the edit conditional."""

    licence_number: Licence | UnsetType = UNSET
    specialty_id: SpecialtyId | UnsetType = UNSET
    consultation_fee: Fee | UnsetType = UNSET
    timezone: Timezone | UnsetType = UNSET
    visit_minutes: VisitMinutes | UnsetType = UNSET
    bio: Bio | UnsetType = UNSET
    version: Version | UnsetType = UNSET


class DoctorView(msgspec.Struct):
    """The public profile of a doctor (no contact details: this is the open catalogue)."""

    id: DoctorId
    full_name: Annotated[str, ex(demo.DOCTOR_NAME)]
    specialty: SpecialtyView
    licence_number: Annotated[str, ex(demo.DOCTOR_LICENCE)]
    consultation_fee: Annotated[Decimal, ex("60.00")]
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    visit_minutes: Annotated[int, ex(30)]
    bio: Annotated[str, ex(demo.DOCTOR_BIO)]
    #: Also the ``ETag``; send it back as ``If-Match`` (or ``version``) when editing.
    version: Annotated[int, ex(3)]

    @classmethod
    def of(cls, profile: DoctorProfile) -> DoctorView:
        doctor = profile.doctor
        return cls(
            id=doctor.id,
            full_name=profile.user.full_name,
            specialty=SpecialtyView.of(profile.specialty),
            licence_number=doctor.licence_number,
            consultation_fee=doctor.consultation_fee,
            timezone=doctor.timezone,
            visit_minutes=doctor.visit_minutes,
            bio=doctor.bio,
            version=doctor.version,
        )


class DoctorCreated(DoctorView):
    """The new doctor, plus the account details only the admin who made it sees."""

    email: Annotated[str, ex(demo.DOCTOR_EMAIL)]
    has_password: Annotated[bool, ex(True)]

    @classmethod
    def of(cls, profile: DoctorProfile) -> DoctorCreated:
        view = DoctorView.of(profile)
        return cls(
            **msgspec.structs.asdict(view),
            email=profile.user.email,
            has_password=profile.user.password_hash is not None,
        )


class DoctorPage(msgspec.Struct):
    items: list[DoctorView]
    total: Annotated[int, ex(1)]
    limit: Annotated[int, ex(20)]
    offset: Annotated[int, ex(0)]

    @classmethod
    def of(cls, page: Page[DoctorProfile]) -> DoctorPage:
        return cls(
            items=[DoctorView.of(p) for p in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )
