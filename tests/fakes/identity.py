"""Fast, deterministic stand-ins for the identity ports, for unit tests only.

Not for production: ``FakePasswordHasher`` is a plain salted SHA-256 (no
stretching), ``FakeAccessTokens`` keeps tokens in a dict instead of signing
them, and ``FakeOidcProvider`` plays Google without a network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

from hduce.application.ports import AccessToken, AccessTokenClaims, OidcIdentity
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7


class FakePasswordHasher:
    """``<scheme>$<salt>$<sha256(salt + password)>``; hashes of another scheme need a rehash."""

    def __init__(self, scheme: str = "fake1") -> None:
        if "$" in scheme:
            raise ValueError("the scheme may not contain '$'")
        self.scheme = scheme

    async def hash(self, password: str) -> str:
        salt = secrets.token_hex(8)
        return f"{self.scheme}${salt}${self._digest(salt, password)}"

    async def verify(self, password_hash: str, password: str) -> bool:
        parts = password_hash.split("$")
        if len(parts) != 3:
            return False
        _, salt, digest = parts
        return hmac.compare_digest(digest, self._digest(salt, password))

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"{self.scheme}$")

    @staticmethod
    def _digest(salt: str, password: str) -> str:
        return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


class FakeAccessTokens:
    """Issues opaque access tokens and verifies them (``AccessTokenIssuer`` + ``Verifier``)."""

    def __init__(self, ttl: timedelta = timedelta(minutes=15)) -> None:
        self.ttl = ttl
        self._claims: dict[str, AccessTokenClaims] = {}

    def issue(
        self, *, user_id: UUID, role: Role, now: datetime, session_id: UUID | None = None
    ) -> AccessToken:
        token = secrets.token_urlsafe(24)
        jti = str(uuid7())
        expires_at = now + self.ttl
        self._claims[token] = AccessTokenClaims(user_id, role, jti, now, expires_at, session_id)
        return AccessToken(token=token, jti=jti, issued_at=now, expires_at=expires_at)

    def verify(self, token: str, *, now: datetime) -> AccessTokenClaims:
        claims = self._claims.get(token)
        if claims is None:
            raise AuthenticationFailed("the access token is not valid")
        if now >= claims.expires_at:
            raise AuthenticationFailed("the access token has expired")
        return claims


def _s256(code_verifier: str) -> str:
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(slots=True)
class _Grant:
    nonce: str
    code_challenge: str
    identity: OidcIdentity
    used: bool = False


class FakeOidcProvider:
    """An OpenID Connect provider in a dict.

    ``authorization_url`` remembers the request under its ``state``; ``consent(state)``
    plays the user signing in and returns the code the callback would receive;
    ``exchange_and_verify`` checks the code (once), the PKCE verifier and the nonce.
    """

    def __init__(
        self,
        identity: OidcIdentity | None = None,
        *,
        authorize_endpoint: str = "https://accounts.example.test/o/oauth2/v2/auth",
        client_id: str = "hduce-test",
    ) -> None:
        self.identity = identity or OidcIdentity(
            subject="google-subject-1", email="ada@example.org", email_verified=True, name="Ada"
        )
        self.authorize_endpoint = authorize_endpoint
        self.client_id = client_id
        self._requests: dict[str, tuple[str, str]] = {}  # state -> (nonce, challenge)
        self._grants: dict[str, _Grant] = {}

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        challenge = _s256(code_verifier)
        self._requests[state] = (nonce, challenge)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "scope": "openid email profile",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.authorize_endpoint}?{query}"

    def consent(self, state: str, identity: OidcIdentity | None = None) -> str:
        """The user signs in: the authorization code for the request made with ``state``."""
        nonce, challenge = self._requests.pop(state)
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(nonce, challenge, identity or self.identity)
        return code

    async def exchange_and_verify(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> OidcIdentity:
        grant = self._grants.get(code)
        if grant is None or grant.used:
            raise AuthenticationFailed("the authorization code is invalid or used")
        grant.used = True
        if not hmac.compare_digest(_s256(code_verifier), grant.code_challenge):
            raise AuthenticationFailed("the PKCE code verifier does not match")
        if not hmac.compare_digest(nonce, grant.nonce):
            raise AuthenticationFailed("the ID token nonce does not match")
        return grant.identity


class RecordingLinkMailer:
    """``LinkMailer`` that keeps the messages (to, subject, body) instead of sending."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_soon(self, *, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))
