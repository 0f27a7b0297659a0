"""Accounts: self-registration, admin-created accounts, profile, activation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final
from uuid import UUID

from hduce.application.access import ensure_admin, ensure_global_admin
from hduce.application.changes import UNCHANGED, Unchanged, pick
from hduce.application.identity.email_links import SendEmailVerification
from hduce.application.identity.policy import (
    IdentityPolicy,
    RegistrationSource,
    account_rate_key,
    enforce_rate,
    new_password_hash,
)
from hduce.application.identity.security_events import log as security_log
from hduce.application.ports import (
    Clock,
    Page,
    PasswordHasher,
    RateLimiter,
    RefreshTokenStore,
    UnitOfWork,
    UnitOfWorkFactory,
    UserAccess,
    UserAccessCache,
    UserQuery,
)
from hduce.application.use_case import UseCase, load
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import (
    AlreadyExists,
    BusinessRuleViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from hduce.domain.events import DomainEvent, UserRegistered
from hduce.domain.identity import Actor, PatientProfile, Role, User, normalise_email
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel, Notification
from hduce.domain.text import plain_text


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


@dataclass(frozen=True, slots=True)
class RegistrationReceived:
    """The answer to a registration, the same whether the address was free or taken."""

    email: str


#: What the address's owner reads: an account was made for it, or someone tried to.
WELCOME_NOTICE: Final = (
    "Your new account",
    "An account was created with this email address. Sign in with the password chosen "
    "when registering. If you did not register, please tell the clinic.",
)
REGISTRATION_ATTEMPT_NOTICE: Final = (
    "Someone tried to register with your email address",
    "Someone tried to create a new account with this email address, which already has "
    "one. Nothing was changed. If it was you, sign in with your existing account; if it "
    "was not, you need do nothing: your account stays as it was.",
)


def _notice(user: User, now: datetime, kind: str, text: tuple[str, str]) -> Notification:
    """An email to the account's address, sent by the delivery sweep (and retried)."""
    title, message = text
    return Notification(
        id=uuid7(),
        recipient_id=user.id,
        type=f"account.{kind}",
        title=title,
        message=message,
        channel=Channel.EMAIL,
        created_at=now,
        dedupe_key=f"account.{kind}:{uuid7()}",
        metadata={"template": kind},
    )


class RegisterPatient:
    """Self-registration: always a patient account.

    A registration never tells whether the address had an account already: a taken
    address gets the same answer, after the same work, as a free one, and its owner
    is told by email instead ("someone tried to register with your address"). The
    owner of a new account gets a welcome email, so either way one message goes to
    the address.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        limiter: RateLimiter,
        policy: IdentityPolicy,
        verification: SendEmailVerification,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._hasher = hasher
        self._limiter = limiter
        self._policy = policy
        self._verification = verification

    async def __call__(self, command: RegisterCommand) -> RegistrationReceived:
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
            full_name=plain_text(command.full_name, "full_name"),
            role=Role.PATIENT,
            created_at=now,
            phone=command.phone,
            timezone=command.timezone or self._policy.default_timezone,
        )
        # Input checks and hashing come before looking at the table: a taken email
        # is refused for the same reasons, and costs the same time, as a free one.
        user.password_hash = await new_password_hash(
            self._hasher, self._policy, command.password, email
        )
        created = False
        try:
            async with self._uow_factory() as uow:
                if (owner := await uow.users.get_by_email(email)) is None:
                    await add_user(uow, user, user.actor, now, "password")
                    await uow.notifications.add(_notice(user, now, "welcome", WELCOME_NOTICE))
                else:
                    await self._tell_owner(uow, owner, now, command.client_ip)
                await uow.commit()
                created = owner is None
        except AlreadyExists:  # registered concurrently, between the look-up and the insert
            async with self._uow_factory() as uow:
                if (owner := await uow.users.get_by_email(email)) is not None:
                    await self._tell_owner(uow, owner, now, command.client_ip)
                    await uow.commit()
        if created:
            # A verification link (its mail leaves outside the request: ADR 0015).
            await self._verification(user, now)
        return RegistrationReceived(email)

    @staticmethod
    async def _tell_owner(
        uow: UnitOfWork, owner: User, now: datetime, client_ip: str | None
    ) -> None:
        # Deactivated accounts get no email (the delivery sweep would refuse it).
        if owner.is_active:
            notice = _notice(owner, now, "registration_attempted", REGISTRATION_ATTEMPT_NOTICE)
            await uow.notifications.add(notice)
        await uow.audit.add(
            AuditEntry.of(
                Actor.system(),
                now,
                "user.registration_attempted",
                "user",
                owner.id,
                client=client_ip or "-",
            )
        )


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
            full_name=plain_text(account.full_name, "full_name"),
            role=account.role,
            created_at=now,
            phone=account.phone,
            timezone=account.timezone or self._policy.default_timezone,
            # An admin typed the address in for someone the clinic knows (ADR 0015).
            email_verified_at=now,
        )

    async def __call__(
        self, actor: Actor, account: NewAccount, *, uow: UnitOfWork | None = None
    ) -> User:
        """Create and commit the account. With ``uow`` (an open unit of work of the
        caller, e.g. "create doctor"), the user is only added to it: the caller commits."""
        if actor.role not in (Role.ADMIN, Role.SYSTEM):
            raise PermissionDenied("only an admin may create accounts")
        if account.role is Role.ADMIN and actor.role is Role.ADMIN:
            ensure_global_admin(actor, "create admin accounts")
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
        async with self._uow_factory(read_only=True) as uow:
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
                full_name=plain_text(pick(user.full_name, changes.full_name), "full_name"),
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
    (the new state replaces the cached one that authentication reads; other processes
    see it within ``HDUCE_ACCOUNT_CACHE_TTL``) and for good: reactivation
    does not revive them (``User.revoke_tokens``)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        refresh_tokens: RefreshTokenStore,
        accounts: UserAccessCache,
    ) -> None:
        super().__init__(uow_factory, clock)
        self._refresh_tokens = refresh_tokens
        self._accounts = accounts

    async def __call__(self, actor: Actor, user_id: UUID, is_active: bool) -> User:
        ensure_admin(actor, "activate or deactivate accounts")
        if actor.is_user(user_id) and not is_active:
            raise BusinessRuleViolation(
                "an admin may not deactivate their own account", rule="self-deactivation"
            )
        now = self._clock.now()
        async with self.change(actor) as (uow, audit):
            user = await load(uow.users.get, user_id, "user")
            if user.role is Role.ADMIN:
                ensure_global_admin(actor, "activate or deactivate admin accounts")
            if user.is_active != is_active:
                user.is_active = is_active
                if not is_active:
                    user.revoke_tokens(now)
                await uow.users.save(user)
                action = "user.activated" if is_active else "user.deactivated"
                await audit(action, "user", user.id, at=now)
                security_log.info("%s user=%s by %s", action, user.id, actor)
        # After the commit: a request reading the database now sees what is cached.
        await self._accounts.put(UserAccess.of(user))
        if not is_active:
            await self._refresh_tokens.revoke_all_for_user(user_id, now=now)
        return user


class SetAdminScope(UseCase):
    """Global admin: scope another admin to one institution, or make them global again
    (``institution_id`` None). The new scope replaces the cached access state after the
    commit, as a deactivation does (ADR 0010): this process sees it at once, the others
    within ``HDUCE_ACCOUNT_CACHE_TTL``. An admin may not scope themself (they would lock
    themself out of the other institutions)."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, accounts: UserAccessCache
    ) -> None:
        super().__init__(uow_factory, clock)
        self._accounts = accounts

    async def __call__(self, actor: Actor, user_id: UUID, institution_id: UUID | None) -> User:
        ensure_global_admin(actor, "scope admins to an institution")
        if actor.is_user(user_id):
            raise BusinessRuleViolation(
                "an admin may not change their own institution scope", rule="self-scope"
            )
        async with self.change(actor) as (uow, audit):
            user = await load(uow.users.get, user_id, "user")
            if user.role is not Role.ADMIN:
                raise BusinessRuleViolation(
                    "only an admin account may be scoped to an institution", rule="not-an-admin"
                )
            if institution_id is not None:
                await load(uow.institutions.get, institution_id, "institution")
            if user.scope_to(institution_id):
                user.version += 1
                await uow.users.save(user)
                await audit(
                    "user.admin_scope_set" if institution_id else "user.admin_scope_cleared",
                    "user",
                    user.id,
                    institution_id=str(institution_id) if institution_id else None,
                )
                security_log.info(
                    "admin scope of user=%s set to %s by %s", user.id, institution_id, actor
                )
        # After the commit: a request reading the database now sees what is cached.
        await self._accounts.put(UserAccess.of(user))
        return user
