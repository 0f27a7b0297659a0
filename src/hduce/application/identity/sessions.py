"""Sessions: sign-in, refresh-token rotation, logout, and authenticating a request.

Sessions follow the OAuth 2.0 Security BCP: a short-lived signed access token and
an opaque refresh token stored only as its SHA-256, rotated on every use, with
reuse of a rotated token revoking its whole family (session). Logout revokes the
family and denylists the access token's ``jti`` (and the session id) until expiry.

A failed login is the same refusal, after the same amount of hashing work, for a
known and an unknown address: nothing here tells whether an email is registered.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final, Protocol
from uuid import UUID

from hduce.application.identity import security_events as events
from hduce.application.identity.policy import (
    ACCOUNT_DISABLED,
    INVALID_CREDENTIALS,
    INVALID_REFRESH_TOKEN,
    MAX_OPAQUE_TOKEN_LENGTH,
    REFRESH_TOKEN_REUSED,
    TOKEN_REVOKED,
    IdentityPolicy,
    LoginThrottle,
    enforce_rate,
    jti_denylist_key,
    session_denylist_key,
)
from hduce.application.ports import (
    AccessToken,
    AccessTokenClaims,
    AccessTokenIssuer,
    AccessTokenVerifier,
    Clock,
    PasswordHasher,
    RateLimiter,
    RefreshRefused,
    RefreshTokenRecord,
    RefreshTokenStore,
    Reused,
    Rotated,
    TokenDenylist,
    UnitOfWorkFactory,
    UserAccess,
    UserAccessCache,
)
from hduce.domain.credentials import (
    MAX_PASSWORD_LENGTH,
    hash_opaque_token,
    new_opaque_token,
    normalise_password,
)
from hduce.domain.errors import (
    AuthenticationFailed,
    InvalidInput,
)
from hduce.domain.identity import Actor, User, normalise_email
from hduce.domain.ids import uuid7
from hduce.domain.sessions import SignInClient

if TYPE_CHECKING:  # devices imports this module; the recorder is only passed in
    from hduce.application.identity.devices import SessionRecorder

# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a sign-in or a refresh hands out."""

    user: User
    access: AccessToken
    refresh_token: str
    refresh_expires_at: datetime
    session_id: UUID


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: what the account may do (as stored, or as cached a few
    seconds at most: ``UserAccessCache``), and the token that proved it."""

    user: UserAccess
    claims: AccessTokenClaims

    @property
    def actor(self) -> Actor:
        return self.user.actor


class CredentialChecker:
    """Verifies a password against an account, or against a dummy hash when there is
    no such account (or it has no password), so both cost the same work."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self._dummy_hash: str | None = None
        self._lock = asyncio.Lock()

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            async with self._lock:
                if self._dummy_hash is None:
                    self._dummy_hash = await self._hasher.hash(secrets.token_urlsafe(24))
        return self._dummy_hash

    async def matches(self, user: User | None, password: str) -> bool:
        if user is None or user.password_hash is None:
            await self._hasher.verify(await self._dummy(), password)
            return False
        return await self._hasher.verify(user.password_hash, password)


class SessionTokens:
    """Starts sessions: a new refresh-token family and an access token bound to it.
    With a ``recorder``, the session's client is recorded (and a new device told of)."""

    def __init__(
        self,
        issuer: AccessTokenIssuer,
        store: RefreshTokenStore,
        policy: IdentityPolicy,
        recorder: SessionRecorder | None = None,
    ) -> None:
        self._issuer = issuer
        self._store = store
        self._policy = policy
        self._recorder = recorder

    async def start(
        self, user: User, now: datetime, client: SignInClient | None = None
    ) -> TokenPair:
        family_id = uuid7()
        refresh_token = new_opaque_token()
        expires_at = now + self._policy.refresh_token_ttl
        await self._store.issue(
            RefreshTokenRecord(
                token_hash=hash_opaque_token(refresh_token),
                user_id=user.id,
                family_id=family_id,
                issued_at=now,
                expires_at=expires_at,
            )
        )
        if self._recorder is not None:
            await self._recorder.started(user, family_id, now, client or SignInClient())
        access = self._issuer.issue(
            user_id=user.id, role=user.role, now=user.token_issue_time(now), session_id=family_id
        )
        return TokenPair(user, access, refresh_token, expires_at, family_id)


class SignInGate(Protocol):
    """What a sign-in must pass after its first factor and before its session starts.

    ``admit`` returns to let the sign-in through, or raises (the second factor:
    ``hduce.application.identity.two_factor.challenge.SecondFactorGate`` raises
    ``SecondFactorRequired`` with a challenge for an account with an authenticator)."""

    async def admit(self, user: User, client_ip: str | None) -> None: ...


class _OpenGate:
    async def admit(self, user: User, client_ip: str | None) -> None:
        return None


#: A gate letting every sign-in through (use cases built without a second factor).
OPEN_GATE: Final[SignInGate] = _OpenGate()


# ------------------------------------------------------------------ sessions


@dataclass(frozen=True, slots=True)
class LoginCommand:
    email: str
    password: str
    client_ip: str | None = None
    user_agent: str | None = None


class Login:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        credentials: CredentialChecker,
        limiter: RateLimiter,
        sessions: SessionTokens,
        policy: IdentityPolicy,
        gate: SignInGate = OPEN_GATE,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._hasher = hasher
        self._credentials = credentials
        self._sessions = sessions
        self._gate = gate
        self._throttle = LoginThrottle(limiter, policy, uow_factory, clock)

    async def __call__(self, command: LoginCommand) -> TokenPair:
        await self._throttle.admit(command.email, command.client_ip)
        user: User | None = None
        if len(command.password) > 4 * MAX_PASSWORD_LENGTH:
            await self._throttle.failed(command.email, command.client_ip, user)
            await self._failed(command, None, "password-too-long")
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        password = normalise_password(command.password)
        try:
            email = normalise_email(command.email)
        except InvalidInput:
            email = None
        if email is not None:
            async with self._uow_factory() as uow:
                user = await uow.users.get_by_email(email)
        if not await self._credentials.matches(user, password) or user is None:
            await self._throttle.failed(command.email, command.client_ip, user)
            await self._failed(command, user, _failure_reason(user))
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        await self._throttle.succeeded(command.email, command.client_ip)
        if not user.is_active:
            await self._failed(command, user, "deactivated")
            # Only someone who knows the password learns that the account is disabled.
            raise AuthenticationFailed(ACCOUNT_DISABLED)
        if user.password_hash is not None and self._hasher.needs_rehash(user.password_hash):
            user = await self._rehash(user, password)
        await self._gate.admit(user, command.client_ip)
        client = SignInClient(command.client_ip, command.user_agent)
        return await self._sessions.start(user, self._clock.now(), client)

    async def _failed(self, command: LoginCommand, user: User | None, reason: str) -> None:
        await events.record(
            self._uow_factory,
            self._clock.now(),
            events.LOGIN_FAILED,
            events.account_target(user, command.email),
            reason=reason,
            client_ip=command.client_ip or "-",
        )

    async def _rehash(self, user: User, password: str) -> User:
        new_hash = await self._hasher.hash(password)
        async with self._uow_factory() as uow:
            current = await uow.users.get(user.id)
            # Unless the password changed meanwhile: then the newer hash stays.
            if current is not None and current.password_hash == user.password_hash:
                current.password_hash = new_hash
                await uow.users.save(current)
                await uow.commit()
                return current
        return user


def _failure_reason(user: User | None) -> str:
    if user is None:
        return "unknown-account"
    return "wrong-password" if user.password_hash is not None else "no-password"


class RefreshTokens:
    """Trade a refresh token for a new pair; the old token is rotated (single use)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        issuer: AccessTokenIssuer,
        store: RefreshTokenStore,
        denylist: TokenDenylist,
        limiter: RateLimiter,
        policy: IdentityPolicy,
        recorder: SessionRecorder | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._issuer = issuer
        self._store = store
        self._denylist = denylist
        self._limiter = limiter
        self._policy = policy
        self._recorder = recorder

    async def __call__(self, refresh_token: str, client: SignInClient | None = None) -> TokenPair:
        if not refresh_token or len(refresh_token) > MAX_OPAQUE_TOKEN_LENGTH:
            raise AuthenticationFailed(INVALID_REFRESH_TOKEN)
        token_hash = hash_opaque_token(refresh_token)
        record = await self._store.find(token_hash)
        if record is None:
            raise AuthenticationFailed(INVALID_REFRESH_TOKEN)
        await enforce_rate(
            self._limiter, f"refresh:family:{record.family_id}", self._policy.refresh_per_family
        )
        now = self._clock.now()
        async with self._uow_factory() as uow:
            user = await uow.users.get(record.user_id)
        if user is None or not user.is_active:
            await self._store.revoke_family(record.family_id, now=now)
            raise AuthenticationFailed(ACCOUNT_DISABLED if user else INVALID_REFRESH_TOKEN)
        new_token = new_opaque_token()
        expires_at = now + self._policy.refresh_token_ttl
        result = await self._store.rotate(
            token_hash, new_token_hash=hash_opaque_token(new_token), now=now, expires_at=expires_at
        )
        match result:
            case Rotated(family_id=family_id):
                if self._recorder is not None:
                    await self._recorder.used(user.id, family_id, now, client or SignInClient())
                access = self._issuer.issue(
                    user_id=user.id,
                    role=user.role,
                    now=user.token_issue_time(now),
                    session_id=family_id,
                )
                return TokenPair(user, access, new_token, expires_at, family_id)
            case Reused(family_id=family_id):
                await self._close_session(family_id, now)
                await events.record(
                    self._uow_factory,
                    now,
                    events.REFRESH_REUSED,
                    ("user", str(user.id)),
                    session_id=str(family_id),
                )
                raise AuthenticationFailed(REFRESH_TOKEN_REUSED)
            case RefreshRefused():
                raise AuthenticationFailed(INVALID_REFRESH_TOKEN)

    async def _close_session(self, family_id: UUID, now: datetime) -> None:
        await self._store.revoke_family(family_id, now=now)
        # Access tokens already issued to the family die with it.
        await self._denylist.deny(
            session_denylist_key(family_id), now + self._policy.access_token_ttl
        )


@dataclass(frozen=True, slots=True)
class LogoutCommand:
    claims: AccessTokenClaims | None = None
    refresh_token: str | None = None


class Logout:
    """Close the session: revoke its refresh family, deny its access tokens."""

    def __init__(
        self,
        clock: Clock,
        store: RefreshTokenStore,
        denylist: TokenDenylist,
        policy: IdentityPolicy,
    ) -> None:
        self._clock = clock
        self._store = store
        self._denylist = denylist
        self._policy = policy

    async def __call__(self, command: LogoutCommand) -> None:
        now = self._clock.now()
        families: set[UUID] = set()
        claims = command.claims
        if claims is not None:
            await self._denylist.deny(jti_denylist_key(claims.jti), claims.expires_at)
            if claims.session_id is not None:
                families.add(claims.session_id)
        token = command.refresh_token
        if token and len(token) <= MAX_OPAQUE_TOKEN_LENGTH:
            record = await self._store.find(hash_opaque_token(token))
            # Whoever holds a refresh token may end its session; but a token of another
            # account next to an access token is a mistake, not a request to log them out.
            if record is not None and (claims is None or record.user_id == claims.user_id):
                families.add(record.family_id)
        for family_id in families:
            await self._store.revoke_family(family_id, now=now)
            await self._denylist.deny(
                session_denylist_key(family_id), now + self._policy.access_token_ttl
            )


class PurgeExpiredRefreshTokens:
    """Housekeeping: forget refresh tokens past their expiry (run it every hour or so).

    Expired tokens can neither be used nor reused, so nothing is lost but rows."""

    def __init__(self, clock: Clock, store: RefreshTokenStore) -> None:
        self._clock = clock
        self._store = store

    async def __call__(self) -> int:
        return await self._store.purge_expired(self._clock.now())


class Authenticate:
    """Access token -> the caller. Refuses revoked tokens (logged out, or issued before
    the account's ``tokens_valid_after``) and deactivated accounts.

    The account's role and state come from the ``UserAccessCache``; the database is read
    only on a miss, so a request with a valid token usually costs no SQL at all."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        verifier: AccessTokenVerifier,
        denylist: TokenDenylist,
        accounts: UserAccessCache,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._verifier = verifier
        self._denylist = denylist
        self._accounts = accounts

    async def __call__(self, token: str) -> Principal:
        claims = self._verifier.verify(token, now=self._clock.now())
        keys = [jti_denylist_key(claims.jti)]
        if claims.session_id is not None:
            keys.append(session_denylist_key(claims.session_id))
        if await self._denylist.is_denied(*keys):
            raise AuthenticationFailed(TOKEN_REVOKED)
        access = await self._accounts.get(claims.user_id) or await self._load(claims.user_id)
        if not access.is_active:
            raise AuthenticationFailed(ACCOUNT_DISABLED)
        if not access.accepts_token_issued_at(claims.issued_at):
            raise AuthenticationFailed(TOKEN_REVOKED)
        return Principal(access, claims)

    async def _load(self, user_id: UUID) -> UserAccess:
        async with self._uow_factory(read_only=True) as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise AuthenticationFailed("the account of this token no longer exists")
        access = UserAccess.of(user)
        await self._accounts.fill(access)
        return access
