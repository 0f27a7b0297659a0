"""Access tokens: JWTs signed and verified with joserfc.

HS256 with the shared ``HDUCE_JWT_SECRET``, or an asymmetric key read from a PEM
file (RS256, ES256, EdDSA / Ed25519) whose public half is published as a JWKS so
other services can verify tokens without the private key.

Every claim the token carries is checked on the way in: the algorithm (pinned,
never taken from the token), ``typ`` (``at+jwt``, RFC 9068, so no other JWT signed
with the same key passes for an access token), ``iss``, ``aud``, ``exp``, ``iat``,
``sub``, ``jti`` and ``role``.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, get_args
from uuid import UUID

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError, SecurityWarning
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey, import_key
from joserfc.jwt import JWTClaimsRegistry

from hduce.application.ports import AccessToken, AccessTokenClaims
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role

JwtAlgorithm = Literal["HS256", "RS256", "ES256", "EdDSA", "Ed25519"]
JWT_ALGORITHMS: Final[tuple[str, ...]] = get_args(JwtAlgorithm)
ASYMMETRIC_ALGORITHMS: Final = frozenset({"RS256", "ES256", "EdDSA", "Ed25519"})
ACCESS_TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - a media type, not a secret
#: Anything longer is not one of our tokens; refuse before parsing it.
MAX_TOKEN_LENGTH: Final = 8192
USER_ROLES: Final = [role.value for role in Role if role is not Role.SYSTEM]
#: Tokens ``JoseAccessTokens.verify`` remembers having verified (about 1 KB each): the
#: callers of the last minutes, so each one's signature is checked once per process.
VERIFIED_TOKENS_KEPT: Final = 4096

_KEY_TYPES: Final[dict[str, str]] = {
    "RS256": "RSA",
    "ES256": "EC",
    "EdDSA": "OKP",
    "Ed25519": "OKP",
}


@contextmanager
def _quiet(algorithm: str) -> Iterator[None]:
    """RFC 9864 prefers "Ed25519" to the polymorphic "EdDSA"; both are accepted here, and
    "EdDSA" is what most libraries still verify, so joserfc's warning for it is noise."""
    if algorithm != "EdDSA":
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        yield


SigningKey = OctKey | RSAKey | ECKey | OKPKey


class SigningKeyError(ValueError):
    """The configured key cannot sign with the configured algorithm."""


def _now_seconds(now: datetime) -> int:
    return int(now.timestamp())


def checked_claims(
    decoded: jwt.Token, *, now: datetime, issuer: str, audience: str, leeway_seconds: int
) -> AccessTokenClaims:
    """The claims of a token whose signature was verified, each checked (``typ``,
    ``iss``, ``aud``, ``exp``, ``iat``, ``sub``, ``jti``, ``role``)."""
    if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
        raise AuthenticationFailed("invalid access token")
    registry = JWTClaimsRegistry(
        now=_now_seconds(now),
        leeway=leeway_seconds,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
        role={"essential": True, "values": USER_ROLES},
    )
    claims = decoded.claims
    try:
        registry.validate(claims)
    except JoseError as exc:
        expired = isinstance(exc, ExpiredTokenError)
        raise AuthenticationFailed(
            "the access token has expired" if expired else "invalid access token"
        ) from exc
    try:
        sid = claims.get("sid")
        return AccessTokenClaims(
            user_id=UUID(str(claims["sub"])),
            role=Role(claims["role"]),
            jti=str(claims["jti"]),
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            session_id=UUID(str(sid)) if sid is not None else None,
        )
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        raise AuthenticationFailed("invalid access token") from exc


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that passed every check once, and its time claims to check again."""

    claims: AccessTokenClaims
    issued_at: int | float
    expires_at: int | float
    not_before: int | float | None

    def still_valid(self, now_seconds: int, leeway: int) -> bool:
        # The comparisons of joserfc's JWTClaimsRegistry (validate_exp, _iat, _nbf).
        return (
            self.expires_at > now_seconds - leeway
            and self.issued_at <= now_seconds + leeway
            and (self.not_before is None or self.not_before <= now_seconds + leeway)
        )


class JoseAccessTokens:
    """Both ``AccessTokenIssuer`` and ``AccessTokenVerifier``.

    The key is fixed for the object's life, so whether a given token's signature and
    claims check out depends only on the time: a token verified once is remembered (the
    last ``VERIFIED_TOKENS_KEPT``) and, on its next request, only its times are checked
    again. Decoding and checking it in full costs about as much CPU as the rest of
    authentication (bench/request_cpu.py).
    """

    def __init__(
        self,
        *,
        algorithm: str,
        key: SigningKey,
        issuer: str,
        audience: str,
        ttl: timedelta,
        leeway_seconds: int = 30,
    ) -> None:
        if algorithm not in JWT_ALGORITHMS:
            raise SigningKeyError(f"unsupported JWT algorithm {algorithm!r}")
        if ttl <= timedelta(0):
            raise ValueError("the access token lifetime must be positive")
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.leeway_seconds = leeway_seconds
        self._key = key
        self._verified: dict[str, _Verified] = {}
        self.kid: str | None = None
        if algorithm in ASYMMETRIC_ALGORITHMS:
            if not key.is_private:
                raise SigningKeyError(f"{algorithm} needs a private key to sign")
            self.kid = key.thumbprint()
            key.ensure_kid()
        # Sign once now: a key that cannot sign with this algorithm fails at startup.
        try:
            with _quiet(algorithm):
                jwt.encode({"alg": algorithm}, {"probe": True}, key, algorithms=[algorithm])
        except JoseError as exc:
            raise SigningKeyError(f"the key cannot sign {algorithm}: {exc}") from exc

    # ------------------------------------------------------------------ construction

    @classmethod
    def with_secret(
        cls, secret: str, *, issuer: str, audience: str, ttl: timedelta
    ) -> JoseAccessTokens:
        return cls(
            algorithm="HS256",
            key=OctKey.import_key(secret.encode("utf-8")),
            issuer=issuer,
            audience=audience,
            ttl=ttl,
        )

    @classmethod
    def with_private_key(
        cls, pem: bytes | str, *, algorithm: str, issuer: str, audience: str, ttl: timedelta
    ) -> JoseAccessTokens:
        key_type = _KEY_TYPES.get(algorithm)
        if key_type is None:
            raise SigningKeyError(f"{algorithm} does not use a private key file")
        try:
            key = import_key(pem, key_type)  # type: ignore[call-overload]
        except (JoseError, ValueError, TypeError) as exc:
            raise SigningKeyError(f"not a {key_type} private key in PEM format: {exc}") from exc
        return cls(algorithm=algorithm, key=key, issuer=issuer, audience=audience, ttl=ttl)

    @classmethod
    def with_private_key_file(
        cls, path: str | Path, *, algorithm: str, issuer: str, audience: str, ttl: timedelta
    ) -> JoseAccessTokens:
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise SigningKeyError(f"cannot read the JWT private key {path}: {exc}") from exc
        return cls.with_private_key(
            pem, algorithm=algorithm, issuer=issuer, audience=audience, ttl=ttl
        )

    # ------------------------------------------------------------------ issuing

    def issue(
        self, *, user_id: UUID, role: Role, now: datetime, session_id: UUID | None = None
    ) -> AccessToken:
        issued_at = datetime.fromtimestamp(_now_seconds(now), UTC)
        expires_at = issued_at + self.ttl
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "role": role.value,
            "iat": _now_seconds(issued_at),
            "exp": _now_seconds(expires_at),
            "jti": jti,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        header: dict[str, Any] = {"alg": self.algorithm, "typ": ACCESS_TOKEN_TYPE}
        if self.kid is not None:
            header["kid"] = self.kid
        with _quiet(self.algorithm):
            token = jwt.encode(header, claims, self._key, algorithms=[self.algorithm])
        return AccessToken(token=token, jti=jti, issued_at=issued_at, expires_at=expires_at)

    # ------------------------------------------------------------------ verifying

    def verify(self, token: str, *, now: datetime) -> AccessTokenClaims:
        known = self._verified.get(token)
        if known is not None:
            if known.still_valid(_now_seconds(now), self.leeway_seconds):
                return known.claims
            del self._verified[token]  # checked in full below, for the exact refusal
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationFailed("invalid access token")
        try:
            with _quiet(self.algorithm):
                decoded = jwt.decode(token, self._key, algorithms=[self.algorithm])
        except (JoseError, ValueError, TypeError) as exc:
            raise AuthenticationFailed("invalid access token") from exc
        claims = checked_claims(
            decoded,
            now=now,
            issuer=self.issuer,
            audience=self.audience,
            leeway_seconds=self.leeway_seconds,
        )
        self._remember(token, claims, decoded.claims)
        return claims

    def _remember(self, token: str, claims: AccessTokenClaims, raw: dict[str, Any]) -> None:
        verified = self._verified
        if token not in verified and len(verified) >= VERIFIED_TOKENS_KEPT:
            del verified[next(iter(verified))]  # the oldest first
        verified[token] = _Verified(claims, raw["iat"], raw["exp"], raw.get("nbf"))

    # ------------------------------------------------------------------ publishing

    @property
    def is_asymmetric(self) -> bool:
        return self.algorithm in ASYMMETRIC_ALGORITHMS

    def jwks(self) -> dict[str, Any] | None:
        """The public JWK Set (RFC 7517), or None for HS256 (a shared secret is never
        published)."""
        if not self.is_asymmetric:
            return None
        public: dict[str, Any] = dict(self._key.as_dict(private=False))
        public.update({"kid": self.kid, "use": "sig", "alg": self.algorithm})
        return {"keys": [public]}
