"""Doctors: the public catalogue, creation by an admin, and profile edits.

A doctor is one user account (role ``doctor``) plus one professional profile whose id
is the account's id. Creation writes both in one unit of work, so a taken email or
licence number leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final
from uuid import UUID

from hduce.application.access import ensure_admin, ensure_self_or_admin
from hduce.application.changes import UNCHANGED, Unchanged, changed_fields, pick
from hduce.application.identity.accounts import CreateAccount, NewAccount
from hduce.application.ports import Clock, DoctorQuery, Page, UnitOfWork, UnitOfWorkFactory
from hduce.application.use_case import UseCase, load
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    StaleVersion,
)
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from hduce.domain.text import plain_text

#: No clinic charges a million for one visit; a bigger number is a typo.
MAX_CONSULTATION_FEE: Final = Decimal("999999.99")
_CENT: Final = Decimal("0.01")
MAX_BIO_LENGTH: Final = 4000
MAX_LICENCE_LENGTH: Final = 64
#: What only an admin may change; the doctor edits the rest of their own profile.
ADMIN_ONLY_FIELDS: Final = frozenset({"licence_number", "specialty_id"})


def _check_fee(fee: Decimal) -> Decimal:
    """A finite amount in 0..MAX with at most two decimals, kept in cents ("60.00")."""
    if not fee.is_finite() or not Decimal(0) <= fee <= MAX_CONSULTATION_FEE:
        raise InvalidInput(
            f"the consultation fee must be an amount from 0 to {MAX_CONSULTATION_FEE}",
            field="consultation_fee",
        )
    exponent = fee.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidInput(
            "the consultation fee has at most two decimals", field="consultation_fee"
        )
    return fee.quantize(_CENT)


def _check_bio(bio: str) -> str:
    bio = plain_text(bio, "bio", multiline=True)
    if len(bio) > MAX_BIO_LENGTH:
        raise InvalidInput(f"a bio has at most {MAX_BIO_LENGTH} characters", field="bio")
    return bio


def _check_licence(licence: str) -> str:
    licence = plain_text(licence, "licence_number")
    if len(licence) > MAX_LICENCE_LENGTH:
        raise InvalidInput(
            f"a licence number has at most {MAX_LICENCE_LENGTH} characters",
            field="licence_number",
        )
    return licence


@dataclass(frozen=True, slots=True)
class DoctorProfile:
    """What the catalogue shows of a doctor: the profile, their account and specialty."""

    doctor: Doctor
    user: User
    specialty: Specialty

    @property
    def id(self) -> UUID:
        return self.doctor.id


async def _require_specialty(uow: UnitOfWork, specialty_id: UUID) -> Specialty:
    specialty = await uow.specialties.get(specialty_id)
    if specialty is None:
        # A reference in the request body that leads nowhere is bad input, not a
        # missing resource at the URL (which is what 404 would say).
        raise InvalidInput(f"there is no specialty {specialty_id}", field="specialty_id")
    return specialty


async def _profile_of(uow: UnitOfWork, doctor: Doctor) -> DoctorProfile:
    user = await uow.users.get(doctor.user_id)
    specialty = await uow.specialties.get(doctor.specialty_id)
    if user is None or specialty is None:  # foreign keys make this unreachable
        raise NotFound("doctor", doctor.id)
    return DoctorProfile(doctor, user, specialty)


# ------------------------------------------------------------------ reads


class GetDoctor:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, doctor_id: UUID) -> DoctorProfile:
        async with self._uow_factory() as uow:
            return await _profile_of(uow, await load(uow.doctors.get, doctor_id, "doctor"))


class ListDoctors:
    """Doctors sorted by name, filtered by specialty and a substring of the name."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, query: DoctorQuery) -> Page[DoctorProfile]:
        async with self._uow_factory() as uow:
            page = await uow.doctors.list(query)
            specialties = {s.id: s for s in await uow.specialties.list()}
            profiles: list[DoctorProfile] = []
            for doctor in page.items:
                user = await uow.users.get(doctor.user_id)
                specialty = specialties.get(doctor.specialty_id)
                if user is not None and specialty is not None:
                    profiles.append(DoctorProfile(doctor, user, specialty))
        return Page(profiles, page.total, page.limit, page.offset)


# ------------------------------------------------------------------ creation


@dataclass(frozen=True, slots=True)
class NewDoctor:
    email: str
    full_name: str
    licence_number: str
    specialty_id: UUID
    consultation_fee: Decimal = Decimal("0")
    visit_minutes: int = 30
    #: The doctor's working timezone, also the account's; the clinic default if None.
    timezone: str | None = None
    bio: str = ""
    phone: str | None = None
    #: None: no password; the doctor signs in with Google (same email) until one is set.
    password: str | None = None


class CreateDoctor(UseCase):
    """An admin creates the doctor's account and profile in one transaction."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, create_account: CreateAccount
    ) -> None:
        super().__init__(uow_factory, clock)
        self._create_account = create_account

    async def __call__(self, actor: Actor, new: NewDoctor) -> DoctorProfile:
        ensure_admin(actor, "add doctors")
        account = NewAccount(
            email=new.email,
            full_name=new.full_name,
            role=Role.DOCTOR,
            password=new.password,
            phone=new.phone,
            timezone=new.timezone,
        )
        # Validate every field before anything is written (or a password hashed): the
        # draft's id is a placeholder, replaced by the account's below.
        user_draft = self._create_account.build(account, self._clock.now())
        draft = Doctor(
            user_id=uuid7(),
            licence_number=_check_licence(new.licence_number),
            specialty_id=new.specialty_id,
            timezone=user_draft.timezone,
            consultation_fee=_check_fee(new.consultation_fee),
            visit_minutes=new.visit_minutes,
            bio=_check_bio(new.bio),
        )
        async with self.change(actor) as (uow, audit):
            specialty = await _require_specialty(uow, new.specialty_id)
            # Added to this unit of work, not committed: a taken licence number below
            # rolls the account back with everything else.
            user = await self._create_account(actor, account, uow=uow)
            doctor = replace(draft, user_id=user.id)
            await uow.doctors.add(doctor)
            await audit(
                "doctor.created",
                "doctor",
                doctor.id,
                licence_number=doctor.licence_number,
                specialty_id=str(doctor.specialty_id),
            )
        return DoctorProfile(doctor, user, specialty)


# ------------------------------------------------------------------ edits


@dataclass(frozen=True, slots=True)
class DoctorChanges:
    """Fields to change; ``UNCHANGED`` ones stay. Licence and specialty: admin only."""

    licence_number: str | Unchanged = UNCHANGED
    specialty_id: UUID | Unchanged = UNCHANGED
    consultation_fee: Decimal | Unchanged = UNCHANGED
    timezone: str | Unchanged = UNCHANGED
    visit_minutes: int | Unchanged = UNCHANGED
    bio: str | Unchanged = UNCHANGED

    def names(self) -> list[str]:
        return changed_fields(self)

    def applied_to(self, doctor: Doctor) -> Doctor:
        """A new version of ``doctor`` with these changes (validated by ``Doctor``)."""
        return replace(
            doctor,
            licence_number=_check_licence(pick(doctor.licence_number, self.licence_number)),
            specialty_id=pick(doctor.specialty_id, self.specialty_id),
            consultation_fee=_check_fee(pick(doctor.consultation_fee, self.consultation_fee)),
            timezone=pick(doctor.timezone, self.timezone),
            visit_minutes=pick(doctor.visit_minutes, self.visit_minutes),
            bio=_check_bio(pick(doctor.bio, self.bio)),
            version=doctor.version + 1,
        )


class UpdateDoctor(UseCase):
    """The doctor edits their own profile (bio, fee, visit length, timezone); an admin
    edits any doctor's, licence number and specialty included.

    ``expected_version`` (from ``If-Match`` or the body) makes the edit conditional:
    ``StaleVersion`` if someone changed the profile since the caller read it, or
    ``PreconditionFailed`` when ``conditional`` (the version is the request's
    precondition, ``If-Match``, rather than a field of the edit).
    """

    async def __call__(
        self,
        actor: Actor,
        doctor_id: UUID,
        changes: DoctorChanges,
        *,
        expected_version: int | None = None,
        conditional: bool = False,
    ) -> DoctorProfile:
        ensure_self_or_admin(actor, doctor_id, "edit a doctor's profile")
        changed = changes.names()
        admin_only = sorted(ADMIN_ONLY_FIELDS.intersection(changed))
        if admin_only and actor.role is not Role.ADMIN:
            raise PermissionDenied(f"only an admin may change {' and '.join(admin_only)}")
        # Serialized: the version check and the write happen with no writer in between.
        async with self.change(actor, serialized=True) as (uow, audit):
            current = await load(uow.doctors.get, doctor_id, "doctor")
            if expected_version is not None and expected_version != current.version:
                stale = PreconditionFailed if conditional else StaleVersion
                raise stale("doctor", doctor_id, expected_version, current.version)
            if not changed:
                return await _profile_of(uow, current)
            updated = changes.applied_to(current)
            if not isinstance(changes.specialty_id, Unchanged):
                await _require_specialty(uow, changes.specialty_id)
            await uow.doctors.save(updated)
            await audit(
                "doctor.updated", "doctor", doctor_id, fields=changed, version=updated.version
            )
            return await _profile_of(uow, updated)
