"""Emailed links: password reset and email verification.

Each link carries a single-use token (32 random bytes) of which only the SHA-256 is
stored, with its purpose, the address it was sent to and a short lifetime. Using it
marks it used in one atomic step, so of two concurrent uses exactly one wins.

The mail with the link goes out through ``LinkMailer``, outside the request and
never written to the database (the notifications table would keep the token in
clear): ADR 0015. What tells of a change without a secret ("your password was
changed") is the ``PasswordChanged`` event a password change emits too: its account
notices are delivered and retried by the worker, whatever the person's opt-outs.

A reset request answers the same, after the same work, whether or not the address
has an account: the address and the client are rate-limited alike, an audit line is
written either way, and the mail leaves after the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from hduce.application.identity import security_events as events
from hduce.application.identity.devices import SessionCloser
from hduce.application.identity.policy import (
    MAX_OPAQUE_TOKEN_LENGTH,
    IdentityPolicy,
    account_rate_key,
    enforce_rate,
    new_password_hash,
)
from hduce.application.ports import (
    AccountTokenRecord,
    AccountTokenStore,
    Clock,
    LinkMailer,
    LinkPurpose,
    PasswordHasher,
    RateLimiter,
    RefreshTokenStore,
    SessionStore,
    TokenConsumed,
    UnitOfWorkFactory,
    UserAccess,
    UserAccessCache,
)
from hduce.application.use_case import load
from hduce.domain.audit import AuditEntry
from hduce.domain.credentials import hash_opaque_token, new_opaque_token
from hduce.domain.errors import (
    BusinessRuleViolation,
    InvalidInput,
    LinkGone,
    LinkRefused,
    PermissionDenied,
)
from hduce.domain.events import DomainEvent, PasswordChanged
from hduce.domain.identity import Actor, User, normalise_email

#: Where each purpose's link leads, under ``IdentityPolicy.public_url`` (the web app
#: there posts the token to the API).
LINK_PATHS: Final = {
    LinkPurpose.PASSWORD_RESET: "/reset-password",
    LinkPurpose.EMAIL_VERIFICATION: "/verify-email",
    LinkPurpose.PASSWORD_SETUP: "/set-password",
}
INVALID_LINK: Final = "this link is not valid; ask for a new one"
USED_LINK: Final = "this link was used already; ask for a new one if you need it"
EXPIRED_LINK: Final = "this link has expired; ask for a new one"


def _for_humans(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    if minutes % 60 or minutes < 120:
        return f"{minutes} minutes"
    if minutes % (24 * 60) or minutes <= 2 * 24 * 60:
        return f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"


def _link_mail(purpose: LinkPurpose, url: str, ttl: timedelta) -> tuple[str, str]:
    lifetime = _for_humans(ttl)
    if purpose is LinkPurpose.PASSWORD_RESET:
        return (
            "Reset your password",
            "Someone, hopefully you, asked to reset the password of the account with this "
            f"email address. To choose a new password, open this link within {lifetime}:\n\n"
            f"{url}\n\nThe link works once. If you did not ask for it, ignore this email: "
            "your password stays as it is.",
        )
    if purpose is LinkPurpose.PASSWORD_SETUP:
        return (
            "Set your password",
            "The clinic created an account for you with this email address. To choose "
            f"your password and sign in, open this link within {lifetime}:\n\n{url}\n\n"
            "The link works once; opening it also confirms this address. If it has expired, "
            'ask the clinic for a new one, or use "forgot password" on the sign-in page. '
            "If you do not know the clinic, ignore this email.",
        )
    return (
        "Confirm your email address",
        "Please confirm that this email address is yours by opening this link within "
        f"{lifetime}:\n\n{url}\n\nThe link works once. You can sign in meanwhile; booking "
        "appointments may wait until you confirm. If you did not create an account, ignore "
        "this email.",
    )


class AccountLinks:
    """Issues a single-use token of a purpose and mails its link to the account."""

    def __init__(
        self, store: AccountTokenStore, mailer: LinkMailer, policy: IdentityPolicy
    ) -> None:
        self._store = store
        self._mailer = mailer
        self._policy = policy

    def lifetime(self, purpose: LinkPurpose) -> timedelta:
        if purpose is LinkPurpose.PASSWORD_RESET:
            return self._policy.password_reset_ttl
        if purpose is LinkPurpose.PASSWORD_SETUP:
            return self._policy.password_setup_ttl
        return self._policy.email_verification_ttl

    async def send(self, user: User, purpose: LinkPurpose, now: datetime) -> None:
        token = new_opaque_token()
        ttl = self.lifetime(purpose)
        await self._store.issue(
            AccountTokenRecord(
                token_hash=hash_opaque_token(token),
                user_id=user.id,
                purpose=purpose,
                email=user.email,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        # The token is URL-safe base64: nothing to quote.
        url = f"{self._policy.public_url.rstrip('/')}{LINK_PATHS[purpose]}?token={token}"
        subject, body = _link_mail(purpose, url, ttl)
        self._mailer.send_soon(to=user.email, subject=subject, body=body)

    async def live(self, token: str, purpose: LinkPurpose, now: datetime) -> AccountTokenRecord:
        """Check the token without using it (``LinkRefused``/``LinkGone`` otherwise)."""
        record = await self._find(token, purpose)
        if record.used_at is not None:
            raise LinkGone(USED_LINK, used=True)
        if record.expires_at <= now:
            raise LinkGone(EXPIRED_LINK, used=False)
        return record

    async def consume(self, token: str, purpose: LinkPurpose, now: datetime) -> AccountTokenRecord:
        """Use the token up, atomically: the one caller that gets past this owns it."""
        result = await self._store.consume(
            hash_opaque_token(token.strip()), purpose=purpose, now=now
        )
        if isinstance(result, TokenConsumed):
            return result.record
        if result.reason == "used":
            raise LinkGone(USED_LINK, used=True)
        if result.reason == "expired":
            raise LinkGone(EXPIRED_LINK, used=False)
        raise LinkRefused(INVALID_LINK)

    async def _find(self, token: str, purpose: LinkPurpose) -> AccountTokenRecord:
        token = token.strip()
        if not token or len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            raise LinkRefused(INVALID_LINK)
        record = await self._store.find(hash_opaque_token(token))
        if record is None or record.purpose is not purpose:
            raise LinkRefused(INVALID_LINK)
        return record


# ------------------------------------------------------------------ password reset


@dataclass(frozen=True, slots=True)
class PasswordResetCommand:
    email: str
    client_ip: str | None = None


class RequestPasswordReset:
    """Mail a reset link to the address's account, if it has an active one.

    Same answer (none: the caller says "if an account exists, a link is on its way")
    and the same work whatever the address: both are rate-limited first, and both
    write one audit line (the account, or the address's hash)."""

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

    async def __call__(self, command: PasswordResetCommand) -> None:
        await enforce_rate(
            self._limiter,
            f"password-reset:ip:{command.client_ip or '-'}",
            self._policy.password_reset_per_ip,
        )
        await enforce_rate(
            self._limiter,
            f"password-reset:account:{account_rate_key(command.email)}",
            self._policy.password_reset_per_account,
        )
        now = self._clock.now()
        user: User | None = None
        try:
            email: str | None = normalise_email(command.email)
        except InvalidInput:
            email = None
        async with self._uow_factory() as uow:
            if email is not None:
                user = await uow.users.get_by_email(email)
            if user is not None and not user.is_active:
                user = None  # a deactivated account gets no link (it could not sign in)
            target_type, target_id = events.account_target(user, command.email)
            await uow.audit.add(
                AuditEntry.of(
                    Actor.system(),
                    now,
                    "auth.password_reset_requested",
                    target_type,
                    target_id,
                    client_ip=command.client_ip or "-",
                    sent=user is not None,
                )
            )
            await uow.commit()
        if user is not None:
            await self._links.send(user, LinkPurpose.PASSWORD_RESET, now)


async def _active_holder(
    links: AccountLinks,
    uow_factory: UnitOfWorkFactory,
    token: str,
    purpose: LinkPurpose,
    now: datetime,
) -> User:
    """The active account a live link of ``purpose`` belongs to (``LinkRefused`` else)."""
    record = await links.live(token, purpose, now)
    async with uow_factory() as uow:
        user = await uow.users.get(record.user_id)
    if user is None or not user.is_active:
        raise LinkRefused(INVALID_LINK)
    return user


@dataclass(frozen=True, slots=True)
class ResetPasswordCommand:
    token: str
    new_password: str


class ResetPassword:
    """Set a new password with a reset link: the link is used up, every session of the
    account ends (``SessionCloser``, as a password change does to the others; and
    ``tokens_valid_after``, as a deactivation does, for access tokens of no session),
    the account's other reset links die, and the owner is told (``PasswordChanged``,
    the event of a password change). Opening the link also proves the address."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        links: AccountLinks,
        store: AccountTokenStore,
        refresh_tokens: RefreshTokenStore,
        accounts: UserAccessCache,
        sessions: SessionStore,
        closer: SessionCloser,
        policy: IdentityPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._hasher = hasher
        self._links = links
        self._store = store
        self._refresh_tokens = refresh_tokens
        self._accounts = accounts
        self._sessions = sessions
        self._closer = closer
        self._policy = policy

    async def __call__(self, command: ResetPasswordCommand) -> None:
        purpose = LinkPurpose.PASSWORD_RESET
        user = await _active_holder(
            self._links, self._uow_factory, command.token, purpose, self._clock.now()
        )
        # The policy first: a refused password leaves the link usable for a better one.
        password_hash = await new_password_hash(
            self._hasher, self._policy, command.new_password, user.email
        )
        now = self._clock.now()
        record = await self._links.consume(command.token, purpose, now)
        live = await self._sessions.live_sessions(record.user_id, now=now)
        async with self._uow_factory() as uow:
            user = await load(uow.users.get, record.user_id, "user")
            user.password_hash = password_hash
            user.revoke_tokens(now)
            if record.email == user.email:
                user.verify_email(now)
            await uow.users.save(user)
            uow.emit(
                DomainEvent(
                    occurred_at=now,
                    aggregate_id=user.id,
                    aggregate_version=user.version,
                    payload=PasswordChanged(
                        user_id=user.id, changed_at=now, sessions_ended=len(live)
                    ),
                )
            )
            await uow.audit.add(
                AuditEntry.of(user.actor, now, "user.password_reset", "user", user.id)
            )
            await uow.commit()
        # After the commit, as ``SetUserActive`` does: what authentication reads.
        await self._accounts.put(UserAccess.of(user))
        await self._closer.close_all_of(user.id, now, keep=None)
        await self._refresh_tokens.revoke_all_for_user(user.id, now=now)
        await self._store.use_all_for_user(user.id, purpose, now=now)
        events.log.info("user.password_reset user=%s", user.id)


# ------------------------------------------------------------------ first password (walk-ins)


class SetFirstPassword:
    """Choose the first password of an account made without one (a walk-in patient)
    with its emailed "set your password" link. The link is used up, the account's
    other such links die, and the address counts as proven (the link reached it).
    No session exists yet to end, and nothing was changed that its owner must be
    told of: this is the owner acting."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        links: AccountLinks,
        store: AccountTokenStore,
        accounts: UserAccessCache,
        policy: IdentityPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._hasher = hasher
        self._links = links
        self._store = store
        self._accounts = accounts
        self._policy = policy

    async def __call__(self, command: ResetPasswordCommand) -> User:
        purpose = LinkPurpose.PASSWORD_SETUP
        user = await _active_holder(
            self._links, self._uow_factory, command.token, purpose, self._clock.now()
        )
        if user.password_hash is not None:
            # Set already (by another of its links, or a reset): this one has no use left.
            raise LinkGone(USED_LINK, used=True)
        # The policy first: a refused password leaves the link usable for a better one.
        password_hash = await new_password_hash(
            self._hasher, self._policy, command.new_password, user.email
        )
        now = self._clock.now()
        record = await self._links.consume(command.token, purpose, now)
        async with self._uow_factory() as uow:
            user = await load(uow.users.get, record.user_id, "user")
            user.password_hash = password_hash
            if record.email == user.email:
                user.verify_email(now)
            await uow.users.save(user)
            await uow.audit.add(
                AuditEntry.of(user.actor, now, "user.password_set", "user", user.id)
            )
            await uow.commit()
        await self._accounts.put(UserAccess.of(user))
        await self._store.use_all_for_user(user.id, purpose, now=now)
        events.log.info("user.password_set user=%s", user.id)
        return user


# ------------------------------------------------------------------ email verification


class SendEmailVerification:
    """The verification link of a new password account (registration calls it)."""

    def __init__(self, links: AccountLinks) -> None:
        self._links = links

    async def __call__(self, user: User, now: datetime) -> None:
        if not user.email_verified:
            await self._links.send(user, LinkPurpose.EMAIL_VERIFICATION, now)


class VerifyEmail:
    """Mark the account's address verified with its emailed link (no sign-in needed:
    the link may be opened on another device)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, links: AccountLinks) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._links = links

    async def __call__(self, token: str) -> User:
        purpose = LinkPurpose.EMAIL_VERIFICATION
        await self._links.live(token, purpose, self._clock.now())
        now = self._clock.now()
        record = await self._links.consume(token, purpose, now)
        async with self._uow_factory() as uow:
            user = await uow.users.get(record.user_id)
            # The link proves the address it was sent to, not one the account has now.
            if user is None or user.email != record.email:
                raise LinkRefused(INVALID_LINK)
            if user.verify_email(now):
                await uow.users.save(user)
                await uow.audit.add(
                    AuditEntry.of(user.actor, now, "user.email_verified", "user", user.id)
                )
                await uow.commit()
        return user


class ResendEmailVerification:
    """A new verification link for the signed-in account (rate-limited per account)."""

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

    async def __call__(self, actor: Actor) -> User:
        user_id: UUID | None = actor.user_id
        if user_id is None:
            raise PermissionDenied("the system has no email address")
        async with self._uow_factory() as uow:
            user = await load(uow.users.get, user_id, "user")
        if user.email_verified:
            raise BusinessRuleViolation(
                "your email address is verified already", rule="email-already-verified"
            )
        await enforce_rate(
            self._limiter,
            f"verify-email:user:{user.id}",
            self._policy.verification_resend_per_user,
        )
        await self._links.send(user, LinkPurpose.EMAIL_VERIFICATION, self._clock.now())
        return user


class PurgeExpiredAccountTokens:
    """Housekeeping: forget emailed tokens past their expiry (used or not)."""

    def __init__(self, clock: Clock, store: AccountTokenStore) -> None:
        self._clock = clock
        self._store = store

    async def __call__(self) -> int:
        return await self._store.purge_expired(self._clock.now())
