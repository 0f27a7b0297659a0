"""Identity and access: accounts, sessions (access + refresh tokens), Google sign-in.

Sessions follow the OAuth 2.0 Security BCP: a short-lived signed access token and
an opaque refresh token stored only as its SHA-256, rotated on every use, with
reuse of a rotated token revoking its whole family (session). Logout revokes the
family and denylists the access token's ``jti`` (and the session id) until expiry.

Nothing here tells a caller whether an email is registered: a failed login is the
same refusal, after the same amount of hashing work, for a known and an unknown
address.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Final, Literal, TypeVar
from uuid import UUID

from hduce.application.access import ensure_admin
from hduce.application.ports import (
    AccessToken,
    AccessTokenClaims,
    AccessTokenIssuer,
    AccessTokenVerifier,
    Cache,
    Clock,
    OidcProvider,
    Page,
    PasswordHasher,
    RateLimiter,
    RefreshRefused,
    RefreshTokenRecord,
    RefreshTokenStore,
    Reused,
    Rotated,
    TokenDenylist,
    UnitOfWork,
    UnitOfWorkFactory,
    UserQuery,
)
from hduce.domain.audit import AuditEntry
from hduce.domain.credentials import (
    MAX_PASSWORD_LENGTH,
    check_password_policy,
    hash_opaque_token,
    new_opaque_token,
    normalise_password,
)
from hduce.domain.errors import (
    AuthenticationFailed,
    BusinessRuleViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from hduce.domain.events import USER_REGISTERED, DomainEvent
from hduce.domain.identity import Actor, PatientProfile, Role, User, normalise_email
from hduce.domain.ids import uuid7

#: The one refusal of a failed login, whatever failed (unknown email, wrong password).
INVALID_CREDENTIALS: Final = "invalid email or password"
INVALID_REFRESH_TOKEN: Final = "the refresh token is invalid or expired; sign in again"  # noqa: S105
REFRESH_TOKEN_REUSED: Final = (
    "this refresh token was used already, so the session was closed; sign in again"  # noqa: S105
)
ACCOUNT_DISABLED: Final = "this account is deactivated"
#: Refresh tokens are 43 characters; anything much longer is not one of ours.
MAX_OPAQUE_TOKEN_LENGTH: Final = 256

RegistrationSource = Literal["password", "google", "admin"]
T = TypeVar("T")


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True, slots=True)
class RateRule:
    limit: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """Lifetimes, password list and rate limits of the identity use cases."""

    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    common_passwords: frozenset[str] = frozenset()
    login_per_ip: RateRule = RateRule(30, 300)
    login_per_account: RateRule = RateRule(10, 900)
    register_per_ip: RateRule = RateRule(10, 3600)
    register_per_account: RateRule = RateRule(5, 3600)
    refresh_per_family: RateRule = RateRule(30, 60)
    google_per_ip: RateRule = RateRule(30, 300)
    #: How long a Google sign-in may take between the redirect and the callback.
    oidc_state_ttl: timedelta = timedelta(minutes=10)
    default_timezone: str = "UTC"


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
    """An authenticated caller: the account as stored now, and the token that proved it."""

    user: User
    claims: AccessTokenClaims

    @property
    def actor(self) -> Actor:
        return self.user.actor


def jti_denylist_key(jti: str) -> str:
    return f"jti:{jti}"


def session_denylist_key(session_id: UUID) -> str:
    return f"sid:{session_id}"


# ------------------------------------------------------------------ shared services


async def _enforce(limiter: RateLimiter, key: str, rule: RateRule) -> None:
    decision = await limiter.hit(key, limit=rule.limit, window_seconds=rule.window_seconds)
    if not decision.allowed:
        raise RateLimited(max(1, decision.retry_after_seconds))


def _account_key(email: str) -> str:
    """Rate-limit key of an email (known or not), without writing the address itself."""
    return hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()[:32]


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
    """Starts sessions: a new refresh-token family and an access token bound to it."""

    def __init__(
        self,
        issuer: AccessTokenIssuer,
        store: RefreshTokenStore,
        policy: IdentityPolicy,
    ) -> None:
        self._issuer = issuer
        self._store = store
        self._policy = policy

    async def start(self, user: User, now: datetime) -> TokenPair:
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
        access = self._issuer.issue(user_id=user.id, role=user.role, now=now, session_id=family_id)
        return TokenPair(user, access, refresh_token, expires_at, family_id)


def _registered_event(user: User, now: datetime, via: RegistrationSource) -> DomainEvent:
    return DomainEvent(
        type=USER_REGISTERED,
        occurred_at=now,
        aggregate_id=user.id,
        aggregate_version=user.version,
        payload={
            "user_id": str(user.id),
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role.value,
            "via": via,
        },
    )


async def _add_user(
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


async def _new_password_hash(
    hasher: PasswordHasher, policy: IdentityPolicy, password: str, email: str
) -> str:
    password = normalise_password(password)
    check_password_policy(password, email, policy.common_passwords)
    return await hasher.hash(password)


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
        await _enforce(
            self._limiter, f"register:ip:{command.client_ip or '-'}", self._policy.register_per_ip
        )
        await _enforce(
            self._limiter,
            f"register:account:{_account_key(command.email)}",
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
        user.password_hash = await _new_password_hash(
            self._hasher, self._policy, command.password, email
        )
        async with self._uow_factory() as uow:
            await _add_user(uow, user, user.actor, now, "password")
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
            user.password_hash = await _new_password_hash(
                self._hasher, self._policy, account.password, user.email
            )
        if uow is not None:
            await _add_user(uow, user, actor, now, "admin")
            return user
        async with self._uow_factory() as own:
            await _add_user(own, user, actor, now, "admin")
            await own.commit()
        return user


class Unchanged(Enum):
    """Marks a profile field the caller did not send (``None`` means "clear it")."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    full_name: str | Unchanged = UNCHANGED
    phone: str | Unchanged | None = UNCHANGED
    timezone: str | Unchanged = UNCHANGED
    email_opt_out: bool | Unchanged = UNCHANGED
    sms_opt_out: bool | Unchanged = UNCHANGED


def _keep(current: T, change: T | Unchanged) -> T:
    return current if isinstance(change, Unchanged) else change


class GetMe:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor) -> User:
        if actor.user_id is None:
            raise NotFound("user", "system")
        async with self._uow_factory() as uow:
            user = await uow.users.get(actor.user_id)
        if user is None:
            raise NotFound("user", actor.user_id)
        return user


class UpdateMyProfile:
    """Name, phone, timezone and notification opt-outs of one's own account."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def __call__(self, actor: Actor, changes: ProfileChanges) -> User:
        if actor.user_id is None:
            raise PermissionDenied("the system has no profile")
        async with self._uow_factory() as uow:
            user = await uow.users.get(actor.user_id)
            if user is None:
                raise NotFound("user", actor.user_id)
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
                full_name=_keep(user.full_name, changes.full_name).strip(),
                phone=_keep(user.phone, changes.phone),
                timezone=_keep(user.timezone, changes.timezone),
                email_opt_out=_keep(user.email_opt_out, changes.email_opt_out),
                sms_opt_out=_keep(user.sms_opt_out, changes.sms_opt_out),
            )
            await uow.users.save(updated)
            await uow.audit.add(
                AuditEntry.of(
                    actor,
                    self._clock.now(),
                    "user.profile_updated",
                    "user",
                    user.id,
                    fields=changed,
                )
            )
            await uow.commit()
        return updated


class ListUsers:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, query: UserQuery) -> Page[User]:
        ensure_admin(actor, "list accounts")
        async with self._uow_factory() as uow:
            return await uow.users.list(query)


class SetUserActive:
    """Admin: deactivate (or reactivate) an account. A deactivated account cannot sign
    in, its refresh tokens are revoked, and its access tokens stop working at once
    (authentication reads the account on every request)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        refresh_tokens: RefreshTokenStore,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._refresh_tokens = refresh_tokens

    async def __call__(self, actor: Actor, user_id: UUID, is_active: bool) -> User:
        ensure_admin(actor, "activate or deactivate accounts")
        if actor.is_user(user_id) and not is_active:
            raise BusinessRuleViolation(
                "an admin may not deactivate their own account", rule="self-deactivation"
            )
        now = self._clock.now()
        async with self._uow_factory() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("user", user_id)
            if user.is_active != is_active:
                user.is_active = is_active
                await uow.users.save(user)
                await uow.audit.add(
                    AuditEntry.of(
                        actor,
                        now,
                        "user.activated" if is_active else "user.deactivated",
                        "user",
                        user.id,
                    )
                )
                await uow.commit()
        if not is_active:
            await self._refresh_tokens.revoke_all_for_user(user_id, now=now)
        return user


# ------------------------------------------------------------------ sessions


@dataclass(frozen=True, slots=True)
class LoginCommand:
    email: str
    password: str
    client_ip: str | None = None


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
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._hasher = hasher
        self._credentials = credentials
        self._limiter = limiter
        self._sessions = sessions
        self._policy = policy

    async def __call__(self, command: LoginCommand) -> TokenPair:
        await _enforce(
            self._limiter, f"login:ip:{command.client_ip or '-'}", self._policy.login_per_ip
        )
        await _enforce(
            self._limiter,
            f"login:account:{_account_key(command.email)}",
            self._policy.login_per_account,
        )
        if len(command.password) > 4 * MAX_PASSWORD_LENGTH:
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        password = normalise_password(command.password)
        user: User | None = None
        try:
            email = normalise_email(command.email)
        except InvalidInput:
            email = None
        if email is not None:
            async with self._uow_factory() as uow:
                user = await uow.users.get_by_email(email)
        if not await self._credentials.matches(user, password) or user is None:
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        if not user.is_active:
            # Only someone who knows the password learns that the account is disabled.
            raise AuthenticationFailed(ACCOUNT_DISABLED)
        if user.password_hash is not None and self._hasher.needs_rehash(user.password_hash):
            user = await self._rehash(user, password)
        return await self._sessions.start(user, self._clock.now())

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
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._issuer = issuer
        self._store = store
        self._denylist = denylist
        self._limiter = limiter
        self._policy = policy

    async def __call__(self, refresh_token: str) -> TokenPair:
        if not refresh_token or len(refresh_token) > MAX_OPAQUE_TOKEN_LENGTH:
            raise AuthenticationFailed(INVALID_REFRESH_TOKEN)
        token_hash = hash_opaque_token(refresh_token)
        record = await self._store.find(token_hash)
        if record is None:
            raise AuthenticationFailed(INVALID_REFRESH_TOKEN)
        await _enforce(
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
                access = self._issuer.issue(
                    user_id=user.id, role=user.role, now=now, session_id=family_id
                )
                return TokenPair(user, access, new_token, expires_at, family_id)
            case Reused(family_id=family_id):
                await self._close_session(family_id, now)
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
    """Access token -> the caller. Refuses revoked tokens and deactivated accounts."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        verifier: AccessTokenVerifier,
        denylist: TokenDenylist,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._verifier = verifier
        self._denylist = denylist

    async def __call__(self, token: str) -> Principal:
        claims = self._verifier.verify(token, now=self._clock.now())
        keys = [jti_denylist_key(claims.jti)]
        if claims.session_id is not None:
            keys.append(session_denylist_key(claims.session_id))
        if await self._denylist.is_denied(*keys):
            raise AuthenticationFailed("this token was revoked; sign in again")
        async with self._uow_factory() as uow:
            user = await uow.users.get(claims.user_id)
        if user is None:
            raise AuthenticationFailed("the account of this token no longer exists")
        if not user.is_active:
            raise AuthenticationFailed(ACCOUNT_DISABLED)
        return Principal(user, claims)


# ------------------------------------------------------------------ Google sign-in


@dataclass(frozen=True, slots=True)
class OidcRedirect:
    """Where to send the browser, and the secret the browser must bring back."""

    url: str
    state: str
    #: Set as a cookie on the browser that started the flow; the callback must carry it,
    #: so a callback URL planted by someone else (login CSRF) is refused.
    browser_binding: str


@dataclass(frozen=True, slots=True)
class OidcCallback:
    code: str
    state: str
    browser_binding: str | None
    client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class _PendingSignIn:
    nonce: str
    code_verifier: str
    binding_hash: str

    def dump(self) -> bytes:
        return json.dumps(
            {"nonce": self.nonce, "verifier": self.code_verifier, "binding": self.binding_hash}
        ).encode()

    @classmethod
    def load(cls, raw: bytes) -> _PendingSignIn:
        data = json.loads(raw)
        return cls(str(data["nonce"]), str(data["verifier"]), str(data["binding"]))


def _state_key(state: str) -> str:
    return f"oidc:state:{hash_opaque_token(state)}"


class BeginGoogleSignIn:
    def __init__(
        self,
        oidc: OidcProvider,
        cache: Cache,
        limiter: RateLimiter,
        policy: IdentityPolicy,
    ) -> None:
        self._oidc = oidc
        self._cache = cache
        self._limiter = limiter
        self._policy = policy

    async def __call__(self, client_ip: str | None = None) -> OidcRedirect:
        await _enforce(self._limiter, f"google:ip:{client_ip or '-'}", self._policy.google_per_ip)
        state, nonce, verifier, binding = (new_opaque_token() for _ in range(4))
        pending = _PendingSignIn(nonce, verifier, hash_opaque_token(binding))
        ttl = int(self._policy.oidc_state_ttl.total_seconds())
        await self._cache.set(_state_key(state), pending.dump(), ttl)
        url = await self._oidc.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
        return OidcRedirect(url=url, state=state, browser_binding=binding)


@dataclass(frozen=True, slots=True)
class _SignInOutcome:
    user: User
    linked: bool = False
    created: bool = False


class CompleteGoogleSignIn:
    """Verify the callback, then sign in the account with that Google subject, or link
    the account with that (Google-verified) email, or create a patient."""

    def __init__(
        self,
        oidc: OidcProvider,
        cache: Cache,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        sessions: SessionTokens,
        store: RefreshTokenStore,
        policy: IdentityPolicy,
    ) -> None:
        self._oidc = oidc
        self._cache = cache
        self._uow_factory = uow_factory
        self._clock = clock
        self._sessions = sessions
        self._store = store
        self._policy = policy

    async def __call__(self, callback: OidcCallback) -> TokenPair:
        if not callback.state or len(callback.state) > MAX_OPAQUE_TOKEN_LENGTH:
            raise AuthenticationFailed("unknown sign-in state; start again")
        key = _state_key(callback.state)
        raw = await self._cache.get(key)
        if raw is None:
            raise AuthenticationFailed("this sign-in expired or was used already; start again")
        await self._cache.delete(key)  # single use, whatever happens next
        pending = _PendingSignIn.load(raw)
        binding = callback.browser_binding or ""
        if not secrets.compare_digest(hash_opaque_token(binding), pending.binding_hash):
            raise AuthenticationFailed("this sign-in was started in another browser")
        identity = await self._oidc.exchange_and_verify(
            code=callback.code, code_verifier=pending.code_verifier, nonce=pending.nonce
        )
        if not identity.email_verified:
            raise AuthenticationFailed("Google has not verified this email address")
        email = normalise_email(identity.email)
        now = self._clock.now()
        outcome = await self._find_or_create(identity.subject, email, identity.name, now)
        user = outcome.user
        if not user.is_active:
            raise AuthenticationFailed(ACCOUNT_DISABLED)
        if outcome.linked:
            # Sessions opened before the owner of the email proved it may belong to
            # whoever registered the address first: close them.
            await self._store.revoke_all_for_user(user.id, now=now)
        return await self._sessions.start(user, now)

    async def _find_or_create(
        self, subject: str, email: str, name: str | None, now: datetime
    ) -> _SignInOutcome:
        async with self._uow_factory() as uow:
            user = await uow.users.get_by_google_subject(subject)
            if user is not None:
                return _SignInOutcome(user)
            user = await uow.users.get_by_email(email)
            if user is not None:
                if user.google_subject is not None:
                    raise AuthenticationFailed(
                        "this account is linked to another Google account already"
                    )
                user.google_subject = subject
                await uow.users.save(user)
                await uow.audit.add(
                    AuditEntry.of(user.actor, now, "user.google_linked", "user", user.id)
                )
                await uow.commit()
                return _SignInOutcome(user, linked=True)
            user = User(
                id=uuid7(),
                email=email,
                full_name=(name or "").strip() or email.partition("@")[0],
                role=Role.PATIENT,
                created_at=now,
                google_subject=subject,
                timezone=self._policy.default_timezone,
            )
            await _add_user(uow, user, user.actor, now, "google")
            await uow.commit()
            return _SignInOutcome(user, created=True)
