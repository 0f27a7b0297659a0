"""Access tokens signed with rotating keys kept in the database (ADR 0016).

``DatabaseAccessTokens`` is the ``AccessTokenIssuer`` and ``AccessTokenVerifier`` when
``HDUCE_JWT_ALGORITHM`` is asymmetric and no ``HDUCE_JWT_PRIVATE_KEY_FILE`` is given.
It holds the stored keys in memory (signing and verifying stay synchronous, without a
database round trip) and re-reads them every ``HDUCE_JWT_KEY_RELOAD_INTERVAL``; which
key signs and which verify at a given instant is ``KeySchedule``'s decision.

Tokens name their key in the ``kid`` header (its RFC 7638 thumbprint); a token is
verified with that key only, and with that key's own algorithm (never the token's).

``JoseKeyMaker`` generates keys with joserfc (cryptography underneath) and, with a
passphrase, stores them as encrypted PKCS#8 (``BestAvailableEncryption``: the
passphrase through scrypt, then AES-256-CBC); nothing here does cryptography by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import extract_compact

from hduce.adapters.security.tokens import (
    ACCESS_TOKEN_TYPE,
    ASYMMETRIC_ALGORITHMS,
    MAX_TOKEN_LENGTH,
    SigningKey,
    SigningKeyError,
    _quiet,
    checked_claims,
)
from hduce.application.identity.signing_keys import EnsureSigningKey, KeySchedule
from hduce.application.ports import (
    AccessToken,
    AccessTokenClaims,
    SigningKeyRecord,
    SigningKeyStore,
)
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role

log = logging.getLogger(__name__)

_KEY_CLASSES: Final[dict[str, type[RSAKey] | type[ECKey] | type[OKPKey]]] = {
    "RS256": RSAKey,
    "ES256": ECKey,
    "EdDSA": OKPKey,
    "Ed25519": OKPKey,
}
RSA_KEY_BITS: Final = 3072


def _generate(algorithm: str) -> RSAKey | ECKey | OKPKey:
    if algorithm == "RS256":
        return RSAKey.generate_key(RSA_KEY_BITS)
    if algorithm == "ES256":
        return ECKey.generate_key("P-256")
    if algorithm in ("EdDSA", "Ed25519"):
        return OKPKey.generate_key("Ed25519")
    raise SigningKeyError(f"{algorithm} is not an asymmetric JWT algorithm")


class JoseKeyMaker:
    """The ``SigningKeyMaker``: a fresh key of the configured algorithm, PEM encoded and
    encrypted with ``passphrase`` when there is one."""

    def __init__(self, algorithm: str, passphrase: str | None) -> None:
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise SigningKeyError(f"{algorithm} keys are not stored in the database")
        self.algorithm = algorithm
        self._passphrase = passphrase

    def make(
        self, *, generation: int, created_at: datetime, activates_at: datetime
    ) -> SigningKeyRecord:
        key = _generate(self.algorithm)
        pem = key.as_pem(private=True, password=self._passphrase)
        return SigningKeyRecord(
            kid=key.thumbprint(),
            generation=generation,
            algorithm=self.algorithm,
            private_key=pem.decode("ascii"),
            encrypted=self._passphrase is not None,
            created_at=created_at,
            activates_at=activates_at,
        )

    def can_read(self, record: SigningKeyRecord) -> bool:
        try:
            load_private_key(record, self._passphrase)
        except SigningKeyError:
            return False
        return True


def load_private_key(record: SigningKeyRecord, passphrase: str | None) -> SigningKey:
    """The stored key, decrypted; ``SigningKeyError`` naming the key when it cannot be."""
    key_class = _KEY_CLASSES.get(record.algorithm)
    if key_class is None:
        raise SigningKeyError(f"key {record.kid}: unsupported algorithm {record.algorithm!r}")
    if record.encrypted and passphrase is None:
        raise SigningKeyError(
            f"key {record.kid} is encrypted: set HDUCE_JWT_KEY_PASSPHRASE to the passphrase "
            "it was stored with"
        )
    try:
        key = key_class.import_key(
            record.private_key.encode("ascii"),
            parameters={"kid": record.kid},
            password=passphrase if record.encrypted else None,
        )
    except (JoseError, ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"key {record.kid} cannot be read (wrong HDUCE_JWT_KEY_PASSPHRASE?): {exc}"
        ) from exc
    if not key.is_private:
        raise SigningKeyError(f"key {record.kid} is not a private key")
    return key


class DatabaseAccessTokens:
    """Both ``AccessTokenIssuer`` and ``AccessTokenVerifier`` over the stored keys."""

    def __init__(
        self,
        *,
        store: SigningKeyStore,
        ensure: EnsureSigningKey,
        schedule: KeySchedule,
        passphrase: str | None,
        issuer: str,
        audience: str,
        ttl: timedelta,
        leeway_seconds: int = 30,
    ) -> None:
        self._store = store
        self._ensure = ensure
        self._schedule = schedule
        self._passphrase = passphrase
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.leeway_seconds = leeway_seconds
        self._records: list[SigningKeyRecord] = []
        self._keys: dict[str, SigningKey] = {}

    # ------------------------------------------------------------------ loading

    async def load(self) -> None:
        """First load: make the first key if the database has none."""
        self._replace(await self._ensure())

    async def reload(self) -> None:
        """Read the keys again (a rotation made by another process)."""
        records = await self._store.list_all()
        if records:
            self._replace(records)

    def _replace(self, records: list[SigningKeyRecord]) -> None:
        keys = {
            record.kid: self._keys.get(record.kid) or load_private_key(record, self._passphrase)
            for record in records
        }
        self._records, self._keys = records, keys

    async def reload_every(self, interval: timedelta) -> None:
        """Re-read the keys forever (a background task of each signing process)."""
        while True:
            await asyncio.sleep(interval.total_seconds())
            try:
                await self.reload()
            except Exception:  # a database hiccup: keep the keys known, retry next time
                log.warning("could not re-read the signing keys", exc_info=True)

    @contextlib.asynccontextmanager
    async def reloading(self, interval: timedelta) -> AsyncIterator[DatabaseAccessTokens]:
        """The keys re-read every ``interval`` while the block runs."""
        task = asyncio.create_task(self.reload_every(interval), name="hduce-signing-keys")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def kids(self) -> list[str]:
        return [record.kid for record in self._records]

    # ------------------------------------------------------------------ issuing

    def issue(
        self, *, user_id: uuid.UUID, role: Role, now: datetime, session_id: uuid.UUID | None = None
    ) -> AccessToken:
        record = self._schedule.signing(self._records, now)
        if record is None:
            raise SigningKeyError("no signing key loaded")
        issued_at = datetime.fromtimestamp(int(now.timestamp()), UTC)
        expires_at = issued_at + self.ttl
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "role": role.value,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": jti,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        header = {"alg": record.algorithm, "typ": ACCESS_TOKEN_TYPE, "kid": record.kid}
        with _quiet(record.algorithm):
            token = jwt.encode(
                header, claims, self._keys[record.kid], algorithms=[record.algorithm]
            )
        return AccessToken(token=token, jti=jti, issued_at=issued_at, expires_at=expires_at)

    # ------------------------------------------------------------------ verifying

    def verify(self, token: str, *, now: datetime) -> AccessTokenClaims:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationFailed("invalid access token")
        try:
            kid = extract_compact(token.encode("ascii")).protected.get("kid")
        except (JoseError, ValueError, TypeError, UnicodeError) as exc:
            raise AuthenticationFailed("invalid access token") from exc
        record = next(
            (key for key in self._schedule.published(self._records, now) if key.kid == kid),
            None,
        )
        if record is None:  # unknown, or retired: its tokens have all expired
            raise AuthenticationFailed("invalid access token")
        try:
            with _quiet(record.algorithm):
                decoded = jwt.decode(token, self._keys[record.kid], algorithms=[record.algorithm])
        except (JoseError, ValueError, TypeError) as exc:
            raise AuthenticationFailed("invalid access token") from exc
        return checked_claims(
            decoded,
            now=now,
            issuer=self.issuer,
            audience=self.audience,
            leeway_seconds=self.leeway_seconds,
        )

    # ------------------------------------------------------------------ publishing

    def jwks(self, now: datetime) -> dict[str, Any]:
        """The public JWK Set at ``now``: the signing key, the next one if a rotation is
        under way, and the retiring ones until their tokens have expired."""
        keys = []
        for record in self._schedule.published(self._records, now):
            public: dict[str, Any] = dict(self._keys[record.kid].as_dict(private=False))
            public.update({"kid": record.kid, "use": "sig", "alg": record.algorithm})
            keys.append(public)
        return {"keys": keys}
