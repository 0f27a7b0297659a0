"""Accounts: self-registration, admin-created accounts, profile, activation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from hduce.application.access import ensure_admin
from hduce.application.changes import UNCHANGED, Unchanged, pick
from hduce.application.identity.policy import (
    IdentityPolicy,
    RegistrationSource,
    account_rate_key,
    enforce_rate,
    new_password_hash,
)
from hduce.application.ports import (
    Clock,
    Page,
    PasswordHasher,
    RateLimiter,
    RefreshTokenStore,
    UnitOfWork,
    UnitOfWorkFactory,
    UserQuery,
)
from hduce.application.use_case import UseCase, load
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import (
    BusinessRuleViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from hduce.domain.events import DomainEvent, UserRegistered
from hduce.domain.identity import Actor, PatientProfile, Role, User, normalise_email
from hduce.domain.ids import uuid7


def _registered_event(user: User, now: datetime, via: RegistrationSource) -> DomainEvent:
    return DomainEvent(
        occurred_at=now,
        aggregate_id=user.id,
        aggregate_version=user.version,
        payload=UserRegistered(
            user_id=user.id, email=user.email, full_name=user.full_name, role=user.role, via=via
        ),
    )


async def add_user(
    uow: UnitOfWork, user: User, actor: Actor, now: datetime, via: RegistrationSource
) -> None:
    """Insert the account (+ an empty patient profile), its event and its audit line."""
    await uow.users.add(user)
    if user.role is Role.PATIENT:
        await uow.patients.save(PatientProfile(user_id=user.id))
    uow.emit(_registered_event(user, now, via))
    await uow.audit.add(
        AuditEntry.of(actor, now, "user.created", "user", user.id, role=user.role.value, via=via)
    )


# ------------------------------------------------------------------ registration and accounts


@dataclass(frozen=True, slots=True)
class RegisterCommand:
    email: str
    password: str
    full_name: str
    phone: str | None = None
    timezone: str | None = None
    client_ip: str | None = None


class RegisterPatient:
    """Self-registration: always a patient account."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        limiter: RateLimiter,
        policy: IdentityPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._hasher = hasher
        self._limiter = limiter
        self._policy = policy

    async def __call__(self, command: RegisterCommand) -> User:
        await enforce_rate(
            self._limiter, f"register:ip:{command.client_ip or '-'}", self._policy.register_per_ip
        )
        await enforce_rate(
            self._limiter,
            f"register:account:{account_rate_key(command.email)}",
            self._policy.register_per_account,
        )
        email = normalise_email(command.email)
        now = self._clock.now()
        user = User(
            id=uuid7(),
            email=email,
            full_name=command.full_name.strip(),
            role=Role.PATIENT,
            created_at=now,
            phone=command.phone,
            timezone=command.timezone or self._policy.default_timezone,
        )
        # Hash before looking at the table: a taken email costs the same time as a free one.
        user.password_hash = await new_password_hash(
            self._hasher, self._policy, command.password, email
        )
        async with self._uow_factory() as uow:
            await add_user(uow, user, user.actor, now, "password")
            await uow.commit()
        return user


@dataclass(frozen=True, slots=True)
class NewAccount:
    email: str
    full_name: str
    role: Role
    #: None makes an account that can only sign in with Google (same email).
    password: str | None = None
    phone: str | None = None
    timezone: str | None = None


class CreateAccount:
    """An admin (or the system: ``hduce create-admin``) creates an account of any role.

    The clinic API reuses it to create the user behind a new doctor.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        policy: IdentityPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._hasher = hasher
        self._policy = policy

    def build(self, account: NewAccount, now: datetime) -> User:
        """The ``User`` that ``__call__`` would insert (no password yet); validates input."""
        if account.role is Role.SYSTEM:
            raise InvalidInput("no account may have the system role", field="role")
        return User(
            id=uuid7(),
            email=normalise_email(account.email),
            full_name=account.full_name.strip(),
            role=account.role,
            created_at=now,
            phone=account.phone,
            timezone=account.timezone or self._policy.default_timezone,
        )

    async def __call__(
        self, actor: Actor, account: NewAccount, *, uow: UnitOfWork | None = None
    ) -> User:
        """Create and commit the account. With ``uow`` (an open unit of work of the
        caller, e.g. "create doctor"), the user is only added to it: the caller commits."""
        if actor.role not in (Role.ADMIN, Role.SYSTEM):
            raise PermissionDenied("only an admin may create accounts")
        now = self._clock.now()
        user = self.build(account, now)
        if account.password is not None:
            user.password_hash = await new_password_hash(
                self._hasher, self._policy, account.password, user.email
            )
        if uow is not None:
            await add_user(uow, user, actor, now, "admin")
            return user
        async with self._uow_factory() as own:
            await add_user(own, user, actor, now, "admin")
            await own.commit()
        return user


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    full_name: str | Unchanged = UNCHANGED
    phone: str | Unchanged | None = UNCHANGED
    timezone: str | Unchanged = UNCHANGED
    email_opt_out: bool | Unchanged = UNCHANGED
    sms_opt_out: bool | Unchanged = UNCHANGED


class GetMe:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor) -> User:
        if actor.user_id is None:
            raise NotFound("user", "system")
        async with self._uow_factory() as uow:
            return await load(uow.users.get, actor.user_id, "user")


class UpdateMyProfile(UseCase):
    """Name, phone, timezone and notification opt-outs of one's own account."""

    async def __call__(self, actor: Actor, changes: ProfileChanges) -> User:
        if actor.user_id is None:
            raise PermissionDenied("the system has no profile")
        async with self.change(actor) as (uow, audit):
            user = await load(uow.users.get, actor.user_id, "user")
            changed = sorted(
                name
                for name in ProfileChanges.__slots__
                if not isinstance(getattr(changes, name), Unchanged)
            )
            if not changed:
                return user
            # ``replace`` runs the entity's validation (E.164 phone, IANA timezone, name).
            updated = replace(
                user,
                full_name=pick(user.full_name, changes.full_name).strip(),
                phone=pick(user.phone, changes.phone),
                timezone=pick(user.timezone, changes.timezone),
                email_opt_out=pick(user.email_opt_out, changes.email_opt_out),
                sms_opt_out=pick(user.sms_opt_out, changes.sms_opt_out),
            )
            await uow.users.save(updated)
            await audit("user.profile_updated", "user", user.id, fields=changed)
        return updated


class ListUsers:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, query: UserQuery) -> Page[User]:
        ensure_admin(actor, "list accounts")
        async with self._uow_factory() as uow:
            return await uow.users.list(query)


class SetUserActive(UseCase):
    """Admin: deactivate (or reactivate) an account. A deactivated account cannot sign
    in, its refresh tokens are revoked, and its access tokens stop working at once
    (authentication reads the account on every request) and for good: reactivation
    does not revive them (``User.revoke_tokens``)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        refresh_tokens: RefreshTokenStore,
    ) -> None:
        super().__init__(uow_factory, clock)
        self._refresh_tokens = refresh_tokens

    async def __call__(self, actor: Actor, user_id: UUID, is_active: bool) -> User:
        ensure_admin(actor, "activate or deactivate accounts")
        if actor.is_user(user_id) and not is_active:
            raise BusinessRuleViolation(
                "an admin may not deactivate their own account", rule="self-deactivation"
            )
        now = self._clock.now()
        async with self.change(actor) as (uow, audit):
            user = await load(uow.users.get, user_id, "user")
            if user.is_active != is_active:
                user.is_active = is_active
                if not is_active:
                    user.revoke_tokens(now)
                await uow.users.save(user)
                action = "user.activated" if is_active else "user.deactivated"
                await audit(action, "user", user.id, at=now)
        if not is_active:
            await self._refresh_tokens.revoke_all_for_user(user_id, now=now)
        return user
