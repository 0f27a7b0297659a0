"""Patients' records: the account's contact fields plus the medical profile.

Who may see a patient's record: the patient, an admin, and a doctor in whose care the
patient is or was (``hduce.domain.privacy.establishes_care``: the patient booked with
them or accepted their proposal, or an admin booked; a doctor's own booking alone is
not enough). Only the patient and an admin may change it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.application.access import ensure_self_or_admin
from hduce.application.changes import UNCHANGED, Unchanged, changed_fields, pick
from hduce.application.ports import UnitOfWork, UnitOfWorkFactory
from hduce.application.use_case import UseCase
from hduce.domain.errors import InvalidInput, NotFound, PermissionDenied
from hduce.domain.identity import Actor, PatientProfile, Role, Sex, User
from hduce.domain.text import plain_text

#: Nobody alive was born earlier; an earlier date is a typo.
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
MAX_CONTACT_NAME_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class PatientRecord:
    user: User
    profile: PatientProfile

    @property
    def id(self) -> UUID:
        return self.user.id


async def _load_record(uow: UnitOfWork, patient_id: UUID) -> PatientRecord:
    user = await uow.users.get(patient_id)
    if user is None or user.role is not Role.PATIENT:
        raise NotFound("patient", patient_id)
    # Accounts made before profiles existed have none yet: an empty one is the truth.
    profile = await uow.patients.get(patient_id) or PatientProfile(user_id=patient_id)
    return PatientRecord(user, profile)


class GetPatient:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, patient_id: UUID) -> PatientRecord:
        async with self._uow_factory() as uow:
            # Permission first: whoever may not read the record does not learn whether
            # the id belongs to a patient either.
            if not await self._may_read(uow, actor, patient_id):
                raise PermissionDenied(
                    "only the patient, an admin, or a doctor in whose care the patient "
                    "is may read this record"
                )
            return await _load_record(uow, patient_id)

    @staticmethod
    async def _may_read(uow: UnitOfWork, actor: Actor, patient_id: UUID) -> bool:
        if actor.role in (Role.ADMIN, Role.SYSTEM) or actor.is_user(patient_id):
            return True
        if actor.role is Role.DOCTOR and actor.user_id is not None:
            return await uow.appointments.has_care_relationship(actor.user_id, patient_id)
        return False


@dataclass(frozen=True, slots=True)
class PatientChanges:
    """Fields to change; ``UNCHANGED`` ones stay, ``None`` clears a field."""

    date_of_birth: date | Unchanged | None = UNCHANGED
    sex: Sex | Unchanged = UNCHANGED
    emergency_contact_name: str | Unchanged | None = UNCHANGED
    emergency_contact_phone: str | Unchanged | None = UNCHANGED

    def names(self) -> list[str]:
        return changed_fields(self)


def _check_birth_date(born: date | None, today: date) -> date | None:
    if born is not None and not EARLIEST_BIRTH_DATE <= born <= today:
        raise InvalidInput(
            f"date of birth must be between {EARLIEST_BIRTH_DATE} and today", field="date_of_birth"
        )
    return born


def _contact_name(name: str | None) -> str | None:
    name = plain_text(name or "", "emergency_contact_name")
    if len(name) > MAX_CONTACT_NAME_LENGTH:
        raise InvalidInput(
            f"a contact name has at most {MAX_CONTACT_NAME_LENGTH} characters",
            field="emergency_contact_name",
        )
    return name or None


def _changed_profile(
    profile: PatientProfile, changes: PatientChanges, today: date
) -> PatientProfile:
    try:
        return replace(
            profile,
            date_of_birth=_check_birth_date(
                pick(profile.date_of_birth, changes.date_of_birth), today
            ),
            sex=pick(profile.sex, changes.sex),
            emergency_contact_name=_contact_name(
                pick(profile.emergency_contact_name, changes.emergency_contact_name)
            ),
            emergency_contact_phone=pick(
                profile.emergency_contact_phone, changes.emergency_contact_phone
            ),
        )
    except InvalidInput as error:
        if error.field == "phone":  # the profile validates the contact's phone as "phone"
            raise InvalidInput(error.message, field="emergency_contact_phone") from None
        raise


class UpdatePatient(UseCase):
    """The patient themself or an admin; doctors may read a record, never change it."""

    async def __call__(
        self, actor: Actor, patient_id: UUID, changes: PatientChanges
    ) -> PatientRecord:
        ensure_self_or_admin(actor, patient_id, "change a patient's record")
        async with self.change(actor) as (uow, audit):
            record = await _load_record(uow, patient_id)
            changed = changes.names()
            if not changed:
                return record
            now = self._clock.now()
            updated = _changed_profile(record.profile, changes, _today_of(record.user, now))
            await uow.patients.save(updated)
            # Field names only: the audit trail must not become a copy of medical data.
            await audit("patient.profile_updated", "patient", patient_id, at=now, fields=changed)
        return PatientRecord(record.user, updated)


def _today_of(user: User, now: datetime) -> date:
    """Today on the patient's calendar: someone born "today" in Tokyo is not in the future."""
    return now.astimezone(ZoneInfo(user.timezone)).date()
