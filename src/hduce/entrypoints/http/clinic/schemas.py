"""Bodies of the catalogue and patient endpoints (msgspec, validated at the edge).

Length limits mirror the database columns, so an over-long value is a 400 naming the
field rather than a database error. Partial updates (PATCH) leave out what does not
change; ``null`` clears a field where clearing makes sense.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, TypeVar
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.application.changes import UNCHANGED, Unchanged
from hduce.application.clinic import DoctorProfile, PatientRecord
from hduce.application.ports import Page
from hduce.domain.clinic import Specialty
from hduce.domain.identity import Sex
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import Email, FullName, Password, Phone, Timezone
from hduce.entrypoints.http.examples import ex

T = TypeVar("T")


def sent(value: T | UnsetType) -> T | Unchanged:
    """A PATCH field: ``UNCHANGED`` when left out of the body (``null`` is a value)."""
    return UNCHANGED if isinstance(value, UnsetType) else value


SpecialtyName = Annotated[str, Meta(min_length=1, max_length=120, examples=[demo.SPECIALTY_NAME])]
Description = Annotated[str, Meta(max_length=2000, examples=[demo.SPECIALTY_DESCRIPTION])]
Licence = Annotated[str, Meta(min_length=1, max_length=64, examples=[demo.DOCTOR_LICENCE])]
Fee = Annotated[
    Decimal,
    Meta(
        description="Amount in the clinic's currency, at most two decimals (a JSON number "
        "or a decimal string; answered as a string so no precision is lost).",
        examples=["60.00"],
    ),
]
VisitMinutes = Annotated[
    int, Meta(ge=5, le=480, description="Default visit length in minutes.", examples=[30])
]
Bio = Annotated[str, Meta(max_length=4000, examples=[demo.DOCTOR_BIO])]
ContactName = Annotated[str, Meta(max_length=200, examples=[demo.EMERGENCY_CONTACT_NAME])]
Version = Annotated[int, Meta(ge=1, description="The version this edit is based on.", examples=[3])]
SpecialtyId = Annotated[UUID, ex(demo.SPECIALTY_ID)]
DoctorId = Annotated[UUID, ex(demo.DOCTOR_ID)]
PatientId = Annotated[UUID, ex(demo.PATIENT_ID)]


# ------------------------------------------------------------------ specialties


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


# ------------------------------------------------------------------ doctors


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


# ------------------------------------------------------------------ patients


class PatientPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; ``null`` clears one."""

    date_of_birth: Annotated[dt.date, ex(demo.PATIENT_BIRTH_DATE)] | UnsetType | None = UNSET
    sex: Sex | UnsetType = UNSET
    emergency_contact_name: ContactName | UnsetType | None = UNSET
    emergency_contact_phone: (
        Annotated[Phone, ex(demo.EMERGENCY_CONTACT_PHONE)] | UnsetType | None
    ) = UNSET


class PatientView(msgspec.Struct):
    """The account's contact fields and the patient's profile."""

    id: PatientId
    full_name: Annotated[str, ex(demo.PATIENT_NAME)]
    email: Annotated[str, ex(demo.PATIENT_EMAIL)]
    phone: Annotated[str, ex(demo.PATIENT_PHONE)] | None
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    date_of_birth: Annotated[dt.date, ex(demo.PATIENT_BIRTH_DATE)] | None
    sex: Sex
    emergency_contact_name: Annotated[str, ex(demo.EMERGENCY_CONTACT_NAME)] | None
    emergency_contact_phone: Annotated[str, ex(demo.EMERGENCY_CONTACT_PHONE)] | None

    @classmethod
    def of(cls, record: PatientRecord) -> PatientView:
        user, profile = record.user, record.profile
        return cls(
            id=user.id,
            full_name=user.full_name,
            email=user.email,
            phone=user.phone,
            timezone=user.timezone,
            date_of_birth=profile.date_of_birth,
            sex=profile.sex,
            emergency_contact_name=profile.emergency_contact_name,
            emergency_contact_phone=profile.emergency_contact_phone,
        )
