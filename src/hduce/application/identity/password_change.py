"""Changing one's password while signed in: the current password again (re-authentication),
a new one the password policy accepts, every other session ended, the owner told by email."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from uuid import UUID

from hduce.application.identity import security_events
from hduce.application.identity.devices import SessionCloser
from hduce.application.identity.policy import (
    IdentityPolicy,
    RateRule,
    enforce_rate,
    new_password_hash,
)
from hduce.application.identity.security_events import log as security_log
from hduce.application.identity.sessions import CredentialChecker
from hduce.application.ports import (
    Clock,
    PasswordHasher,
    RateLimiter,
    SessionStore,
    UnitOfWorkFactory,
)
from hduce.application.use_case import UseCase, load
from hduce.domain.credentials import MAX_PASSWORD_LENGTH, normalise_password
from hduce.domain.errors import BusinessRuleViolation, InvalidInput, PermissionDenied
from hduce.domain.events import DomainEvent, PasswordChanged
from hduce.domain.identity import Actor

#: Attempts per account, right or wrong: a stolen access token cannot guess the
#: current password (each attempt also costs an Argon2 verification).
CHANGE_PASSWORD_PER_ACCOUNT: Final = RateRule(5, 900)
WRONG_CURRENT_PASSWORD: Final = "the current password is not right"  # noqa: S105
REAUTHENTICATION_FAILED: Final = "auth.reauthentication_failed"


@dataclass(frozen=True, slots=True)
class ChangePasswordCommand:
    current_password: str
    new_password: str
    #: The session the request came from: it stays signed in; None ends every session.
    session_id: UUID | None = None


class ChangePassword(UseCase):
    """The signed-in owner changes their password.

    The current password is checked first (so a borrowed, unlocked device or a stolen
    access token cannot change it), then the new one against the password policy. The
    new hash, the audit entry and ``PasswordChanged`` commit together; then every other
    session of the account is ended (refresh tokens revoked, access tokens denylisted),
    the caller's own session stays. Returns how many sessions were ended."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        credentials: CredentialChecker,
        limiter: RateLimiter,
        sessions: SessionStore,
        closer: SessionCloser,
        policy: IdentityPolicy,
    ) -> None:
        super().__init__(uow_factory, clock)
        self._hasher = hasher
        self._credentials = credentials
        self._limiter = limiter
        self._sessions = sessions
        self._closer = closer
        self._policy = policy

    async def __call__(self, actor: Actor, command: ChangePasswordCommand) -> int:
        if actor.user_id is None:
            raise PermissionDenied("the system has no password")
        user_id = actor.user_id
        await enforce_rate(self._limiter, f"password-change:{user_id}", CHANGE_PASSWORD_PER_ACCOUNT)
        async with self._uow_factory() as uow:
            user = await load(uow.users.get, user_id, "user")
        if user.password_hash is None:
            raise BusinessRuleViolation(
                "this account signs in with Google and has no password to change",
                rule="no-password",
            )
        current = command.current_password
        if len(current) > 4 * MAX_PASSWORD_LENGTH or not await self._credentials.matches(
            user, normalise_password(current)
        ):
            # Audited like a failed login: a stolen access token guessing the password.
            await security_events.record(
                self._uow_factory,
                self._clock.now(),
                REAUTHENTICATION_FAILED,
                ("user", str(user_id)),
                reason="wrong-password",
            )
            raise InvalidInput(WRONG_CURRENT_PASSWORD, field="current_password")
        if normalise_password(command.new_password) == normalise_password(current):
            raise InvalidInput("the new password must differ from the current one", "new_password")
        try:
            new_hash = await new_password_hash(
                self._hasher, self._policy, command.new_password, user.email
            )
        except InvalidInput as refused:
            raise InvalidInput(str(refused), field="new_password") from None
        now = self._clock.now()
        others = await self._sessions.live_sessions(user_id, now=now) - {command.session_id}
        async with self.change(actor) as (uow, audit):
            user = await load(uow.users.get, user_id, "user")
            user.password_hash = new_hash
            await uow.users.save(user)
            uow.emit(
                DomainEvent(
                    occurred_at=now,
                    aggregate_id=user.id,
                    aggregate_version=user.version,
                    payload=PasswordChanged(
                        user_id=user.id, changed_at=now, sessions_ended=len(others)
                    ),
                )
            )
            await audit(
                "user.password_changed", "user", user.id, at=now, sessions_ended=len(others)
            )
        security_log.info("user.password_changed user=%s sessions_ended=%d", user_id, len(others))
        # After the commit: a session ended now cannot sign back in with the old password.
        return await self._closer.close_all_of(user_id, now, keep=command.session_id)
