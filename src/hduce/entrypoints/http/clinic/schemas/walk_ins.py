"""Bodies of ``POST /patients`` (an admin makes a walk-in patient's account)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from hduce.application.clinic import PatientRecord
from hduce.domain.identity import Sex
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import Email, FullName, Phone, Timezone
from hduce.entrypoints.http.clinic.schemas.patients import ContactName, PatientView
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import CalendarDate


class WalkInCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Who the patient is and how to reach them; no password (the patient sets it with
    the emailed link). The profile fields are those of ``PATCH /patients/{id}``."""

    email: Annotated[Email, ex(demo.PATIENT_EMAIL)]
    full_name: Annotated[FullName, ex(demo.PATIENT_NAME)]
    phone: Annotated[Phone, ex(demo.PATIENT_PHONE)] | None = None
    timezone: Timezone | None = None
    date_of_birth: Annotated[CalendarDate, ex(demo.PATIENT_BIRTH_DATE)] | None = None
    sex: Sex = Sex.UNKNOWN
    emergency_contact_name: ContactName | None = None
    emergency_contact_phone: Annotated[Phone, ex(demo.EMERGENCY_CONTACT_PHONE)] | None = None


class WalkInCreated(PatientView):
    """The new patient's record, and the state of the account the link completes."""

    has_password: Annotated[bool, ex(False)]
    email_verified: Annotated[bool, ex(False)]

    @classmethod
    def of_walk_in(cls, record: PatientRecord) -> WalkInCreated:
        view = PatientView.of(record)
        return cls(
            **msgspec.structs.asdict(view),
            has_password=record.user.password_hash is not None,
            email_verified=record.user.email_verified,
        )


class PasswordLinkSent(msgspec.Struct):
    detail: Annotated[
        str, ex("A new link to set the password is on its way to the patient's address.")
    ]
