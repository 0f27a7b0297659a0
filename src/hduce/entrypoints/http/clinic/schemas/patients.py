"""Bodies of ``/patients/{id}`` (a patient's contact fields and medical profile)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.application.clinic import PatientRecord
from hduce.application.ports import Page
from hduce.domain.identity import Sex, User
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import Phone
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import CalendarDate, PlainText

ContactName = Annotated[PlainText, Meta(max_length=200, examples=[demo.EMERGENCY_CONTACT_NAME])]
PatientId = Annotated[UUID, ex(demo.PATIENT_ID)]


class PatientPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; ``null`` clears one."""

    date_of_birth: Annotated[CalendarDate, ex(demo.PATIENT_BIRTH_DATE)] | UnsetType | None = UNSET
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
    date_of_birth: Annotated[CalendarDate, ex(demo.PATIENT_BIRTH_DATE)] | None
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


class PatientSummary(msgspec.Struct):
    """A patient found by a search: who they are and how to reach them (the record,
    with the medical profile, is at ``GET /patients/{id}``)."""

    id: PatientId
    full_name: Annotated[str, ex(demo.PATIENT_NAME)]
    email: Annotated[str, ex(demo.PATIENT_EMAIL)]
    phone: Annotated[str, ex(demo.PATIENT_PHONE)] | None
    is_active: Annotated[bool, ex(True)]

    @classmethod
    def of(cls, user: User) -> PatientSummary:
        return cls(
            id=user.id,
            full_name=user.full_name,
            email=user.email,
            phone=user.phone,
            is_active=user.is_active,
        )


class PatientPage(msgspec.Struct):
    items: list[PatientSummary]
    total: Annotated[int, ex(1)]
    limit: Annotated[int, ex(20)]
    offset: Annotated[int, ex(0)]

    @classmethod
    def of(cls, page: Page[User]) -> PatientPage:
        return cls(
            items=[PatientSummary.of(user) for user in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )
