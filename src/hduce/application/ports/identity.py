"""Identity ports: password hashing, access and refresh tokens, denylist, the cache of
what each account may do, OpenID provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from hduce.domain.identity import Actor, Role, User

# ------------------------------------------------------------------ identity


class PasswordHasher(Protocol):
    """Slow, salted password hashing (Argon2id). Async: hashing costs tens of ms of CPU."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False when not or when the hash is unusable."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        ...


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A signed access token (JWT) and what the issuer put in it."""

    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime

    @property
    def expires_in(self) -> int:
        return max(0, int((self.expires_at - self.issued_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """What a verified access token says."""

    user_id: UUID
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime
    #: The refresh-token family (session) the token was issued for, when there is one.
    session_id: UUID | None = None


class AccessTokenIssuer(Protocol):
    def issue(
        self, *, user_id: UUID, role: Role, now: datetime, session_id: UUID | None = None
    ) -> AccessToken: ...


class AccessTokenVerifier(Protocol):
    def verify(self, token: str, *, now: datetime) -> AccessTokenClaims:
        """Signature, algorithm, ``iss``, ``aud``, ``exp``, ``iat``, ``sub``, ``jti``
        and ``role`` checked; raises ``AuthenticationFailed`` otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    """One refresh token as stored: only its SHA-256, never the token itself."""

    token_hash: str
    user_id: UUID
    family_id: UUID
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rotated:
    """The token was live; it is now rotated and its replacement stored in its family."""

    user_id: UUID
    family_id: UUID


@dataclass(frozen=True, slots=True)
class Reused:
    """The token had been rotated already: someone replays it. Revoke the family."""

    user_id: UUID
    family_id: UUID


@dataclass(frozen=True, slots=True)
class RefreshRefused:
    """Unknown, expired or revoked: nothing changed."""

    reason: str  # "unknown" | "expired" | "revoked"


RotateResult = Rotated | Reused | RefreshRefused


class RefreshTokenStore(Protocol):
    async def issue(self, record: RefreshTokenRecord) -> None:
        """Store a new token (the first of a family, at sign-in)."""
        ...

    async def rotate(
        self, token_hash: str, *, new_token_hash: str, now: datetime, expires_at: datetime
    ) -> RotateResult:
        """Atomically: if ``token_hash`` is live (not rotated, not revoked, not expired),
        mark it rotated and store ``new_token_hash`` in the same family -> ``Rotated``.
        Of two concurrent rotations of one token exactly one gets ``Rotated``; the other
        sees ``Reused``. The store does not revoke anything by itself."""
        ...

    async def find(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def revoke_family(self, family_id: UUID, *, now: datetime) -> int:
        """Revoke every live token of the family; returns how many were live."""
        ...

    async def revoke_all_for_user(self, user_id: UUID, *, now: datetime) -> int: ...

    async def purge_expired(self, now: datetime) -> int:
        """Forget tokens past their expiry (they can no longer be used or reused)."""
        ...


class TokenDenylist(Protocol):
    """Access-token ids (and session ids) refused before they expire (logout)."""

    async def deny(self, key: str, until: datetime) -> None:
        """Refuse ``key`` until ``until``; forgotten afterwards (the token is dead anyway)."""
        ...

    async def is_denied(self, *keys: str) -> bool:
        """True when any of ``keys`` is denied now."""
        ...


@dataclass(frozen=True, slots=True)
class UserAccess:
    """What authorizing a request needs of an account, as stored: who, which role,
    whether it may sign in, and since when its access tokens count (``User.revoke_tokens``)."""

    id: UUID
    role: Role
    is_active: bool
    tokens_valid_after: datetime | None = None
    #: The institution an admin is scoped to (ADR 0026), None for a global admin.
    institution_id: UUID | None = None

    @classmethod
    def of(cls, user: User) -> UserAccess:
        return cls(
            user.id,
            user.role,
            user.is_active,
            user.tokens_valid_after,
            user.admin_institution_id,
        )

    @property
    def actor(self) -> Actor:
        return Actor(self.role, self.id, self.institution_id)

    def accepts_token_issued_at(self, issued_at: datetime) -> bool:
        # The same rule as ``User.accepts_token_issued_at``, on the cached copy.
        return self.tokens_valid_after is None or issued_at >= self.tokens_valid_after


class UserAccessCache(Protocol):
    """``UserAccess`` by account id, so that authenticating a request needs no database.

    Every use case that changes an account's role, activity or ``tokens_valid_after``
    must ``put`` the new state after committing it: ``put`` overwrites, whereas the
    authenticator's ``fill`` (after reading the database on a miss) never replaces an
    entry, so a read that raced the change cannot bring the old state back. How long
    an entry may outlive a change made elsewhere (another process, or
    SQL by hand) is the adapter's bound (docs/decisions/0010-user-access-cache.md).
    """

    async def get(self, user_id: UUID) -> UserAccess | None: ...

    async def fill(self, access: UserAccess) -> None:
        """Store ``access`` unless the account has an entry already."""
        ...

    async def put(self, access: UserAccess) -> None:
        """Store ``access``, replacing any entry (after a change was committed)."""
        ...


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """The verified claims of an OpenID Connect ID token."""

    subject: str
    email: str
    email_verified: bool
    name: str | None = None


class IdentityProviderUnavailable(Exception):
    """The identity provider could not be reached or answered nonsense (HTTP 503):
    not the user's fault, unlike a refused code or token (``AuthenticationFailed``)."""


class OidcProvider(Protocol):
    """An OpenID Connect provider (Google) using the authorization-code flow with PKCE."""

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser (S256 code challenge derived from ``code_verifier``)."""
        ...

    async def exchange_and_verify(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> OidcIdentity:
        """Redeem ``code`` and verify the ID token: signature against the provider's JWKS,
        ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``. Raises ``AuthenticationFailed``."""
        ...
