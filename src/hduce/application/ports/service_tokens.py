"""Ports of the tokens other services use: the signing keys (rotated, published as a
JWKS) and the registered service clients that introspect and revoke tokens
(RFC 7662, RFC 7009)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

# ------------------------------------------------------------------ signing keys


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """One asymmetric key signing access tokens, as stored.

    ``generation`` numbers the keys 1, 2, 3... and is unique: of two processes creating
    the same generation at once, one insert fails, so there is never a fork.
    ``private_key`` is PKCS#8 PEM, encrypted with the key passphrase when ``encrypted``.
    The key signs from ``activates_at`` until the next generation activates; it is
    published (verifies tokens) from its creation until its tokens have expired.
    """

    kid: str
    generation: int
    algorithm: str
    private_key: str
    encrypted: bool
    created_at: datetime
    activates_at: datetime


class SigningKeyStore(Protocol):
    async def list_all(self) -> list[SigningKeyRecord]:
        """Every stored key, by generation."""
        ...

    async def add(self, record: SigningKeyRecord) -> bool:
        """Store a new key; False (nothing stored) when its generation exists already."""
        ...

    async def delete(self, kids: list[str]) -> int:
        """Forget these keys (retired: no live token is signed by them)."""
        ...


class SigningKeyMaker(Protocol):
    """Makes new private keys (the adapter generates, and encrypts when configured)."""

    def make(
        self, *, generation: int, created_at: datetime, activates_at: datetime
    ) -> SigningKeyRecord: ...

    def can_read(self, record: SigningKeyRecord) -> bool:
        """True when this configuration (passphrase) can load the stored key."""
        ...


# ------------------------------------------------------------------ service clients


@dataclass(frozen=True, slots=True)
class ServiceClient:
    """A hospital service allowed to introspect and revoke HDUCE tokens.

    Only the SHA-256 of its secret is stored (``secret_hash``)."""

    client_id: str
    name: str
    secret_hash: str
    created_at: datetime
    created_by: UUID | None = None
    revoked_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ServiceClientStore(Protocol):
    async def add(self, client: ServiceClient) -> None: ...

    async def get(self, client_id: str) -> ServiceClient | None: ...

    async def list_all(self) -> list[ServiceClient]:
        """Every client, oldest first, revoked ones included."""
        ...

    async def revoke(self, client_id: str, *, now: datetime) -> ServiceClient | None:
        """Mark the client revoked (once: a second revocation keeps the first time);
        None when there is no such client."""
        ...
