"""Walk-in patients: an admin makes the account at the desk, the person sets the
password later with an emailed link (ADR 0015).

The account is an ordinary patient account without a password (it cannot sign in with
one until it is set) and with an unproven address: the "set your password" link both
sets the first password and proves the address (``SetFirstPassword``). Until then staff
may book for the patient as for any unverified one. The link is sent again on an
admin's request, as long as the account has no password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from hduce.application.access import ensure_admin
from hduce.application.clinic.patients import PatientChanges, PatientRecord, _changed_profile
from hduce.application.identity.accounts import _registered_event
from hduce.application.identity.email_links import AccountLinks
from hduce.application.identity.policy import IdentityPolicy, enforce_rate
from hduce.application.ports import Clock, LinkPurpose, RateLimiter, UnitOfWorkFactory
from hduce.application.use_case import load
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import AlreadyExists, BusinessRuleViolation, NotFound
from hduce.domain.identity import Actor, PatientProfile, Role, Sex, User, normalise_email
from hduce.domain.ids import uuid7
from hduce.domain.text import plain_text


@dataclass(frozen=True, slots=True)
class WalkInPatient:
    email: str
    full_name: str
    phone: str | None = None
    timezone: str | None = None
    date_of_birth: date | None = None
    sex: Sex = Sex.UNKNOWN
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None


class CreateWalkInPatient:
    """Admin: a patient account with no password; a "set your password" link is mailed."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        links: AccountLinks,
        policy: IdentityPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._links = links
        self._policy = policy

    async def __call__(self, actor: Actor, walk_in: WalkInPatient) -> PatientRecord:
        ensure_admin(actor, "create a walk-in patient's account")
        now = self._clock.now()
        user = User(
            id=uuid7(),
            email=normalise_email(walk_in.email),
            full_name=plain_text(walk_in.full_name, "full_name"),
            role=Role.PATIENT,
            created_at=now,
            phone=walk_in.phone,
            timezone=walk_in.timezone or self._policy.default_timezone,
        )
        # The same checks as a patient's own PATCH /patients/{id} (birth date, names).
        profile = _changed_profile(
            PatientProfile(user_id=user.id),
            PatientChanges(
                date_of_birth=walk_in.date_of_birth,
                sex=walk_in.sex,
                emergency_contact_name=walk_in.emergency_contact_name,
                emergency_contact_phone=walk_in.emergency_contact_phone,
            ),
            now.date(),
        )
        async with self._uow_factory() as uow:
            # An admin may learn that an address is taken (they see every account).
            if await uow.users.get_by_email(user.email) is not None:
                raise AlreadyExists("an account with this email address exists already")
            await uow.users.add(user)  # AlreadyExists too if one was made meanwhile
            await uow.patients.save(profile)
            uow.emit(_registered_event(user, now, "admin"))
            await uow.audit.add(
                AuditEntry.of(
                    actor, now, "user.created", "user", user.id, role="patient", via="walk_in"
                )
            )
            await uow.commit()
        # The link's mail leaves after the answer (ADR 0015).
        await self._links.send(user, LinkPurpose.PASSWORD_SETUP, now)
        return PatientRecord(user, profile)


class ResendPasswordSetup:
    """Admin: a new "set your password" link for a walk-in account that has none yet
    (earlier links keep working until they expire; limited per account)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        limiter: RateLimiter,
        links: AccountLinks,
        policy: IdentityPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._limiter = limiter
        self._links = links
        self._policy = policy

    async def __call__(self, actor: Actor, patient_id: UUID) -> User:
        ensure_admin(actor, "send a walk-in patient a password link")
        async with self._uow_factory() as uow:
            user = await load(uow.users.get, patient_id, "patient")
        if user.role is not Role.PATIENT:
            raise NotFound("patient", patient_id)
        if user.password_hash is not None:
            raise BusinessRuleViolation(
                "this account has a password already; its owner may reset it",
                rule="password-already-set",
            )
        if not user.is_active:
            raise BusinessRuleViolation("this account is deactivated", rule="account-deactivated")
        await enforce_rate(
            self._limiter,
            f"password-setup:user:{user.id}",
            self._policy.password_setup_resend_per_user,
        )
        now = self._clock.now()
        await self._links.send(user, LinkPurpose.PASSWORD_SETUP, now)
        async with self._uow_factory() as uow:
            await uow.audit.add(
                AuditEntry.of(actor, now, "user.password_link_sent", "user", user.id)
            )
            await uow.commit()
        return user
