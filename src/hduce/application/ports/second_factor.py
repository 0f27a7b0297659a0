"""Second-factor ports: the store of authenticators, recovery codes and two-factor
sessions; TOTP arithmetic; sealing the TOTP secrets at rest.

Imported from this module (not re-exported by ``hduce.application.ports``), so the
feature stays in files of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """One account's authenticator, as stored. Secrets are sealed (``SecretSealer``).

    ``secret``: the confirmed authenticator, None until one is confirmed.
    ``pending_secret``: one enrolled but not confirmed yet (it replaces ``secret`` when
    confirmed; until then the confirmed one, if any, keeps working).
    """

    user_id: UUID
    secret: str | None
    confirmed_at: datetime | None
    pending_secret: str | None
    pending_since: datetime | None
    last_used_step: int | None = None
    recovery_codes_left: int = 0

    @property
    def is_active(self) -> bool:
        return self.secret is not None


class SecondFactorStore(Protocol):
    """Authenticators, recovery codes (SHA-256 only) and the sessions that passed a
    second factor. Every write is atomic on its own (one short transaction)."""

    async def get(self, user_id: UUID) -> TotpEnrolment | None: ...

    async def set_pending(self, user_id: UUID, sealed_secret: str, now: datetime) -> None:
        """Store a new pending authenticator (replacing any pending one)."""
        ...

    async def confirm(
        self,
        user_id: UUID,
        *,
        pending_secret: str,
        step: int,
        recovery_code_hashes: Sequence[str],
        now: datetime,
    ) -> bool:
        """If ``pending_secret`` is still the pending one: make it the authenticator (its
        ``step`` the last used), replace every recovery code with these. False when the
        pending secret changed or went meanwhile (nothing done)."""
        ...

    async def use_step(self, user_id: UUID, step: int) -> bool:
        """Record ``step`` as used if it is later than the last used one (atomically):
        True once per step, so a replayed code is refused."""
        ...

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        """Mark an unused recovery code used: True once per code."""
        ...

    async def remove(self, user_id: UUID) -> bool:
        """Forget the authenticator (pending too) and the recovery codes."""
        ...

    async def mark_session(self, session_id: UUID, user_id: UUID, now: datetime) -> None:
        """Remember that this session (refresh-token family) passed a second factor."""
        ...

    async def is_session_marked(self, session_id: UUID) -> bool: ...

    async def forget_ended_sessions(self, now: datetime) -> int:
        """Forget the marks of sessions that ended (no live refresh token left in the
        family); returns how many. Housekeeping: an ended session is never used again."""
        ...


class OneTimePasswords(Protocol):
    """TOTP (RFC 6238): secrets, provisioning URIs and which step a code belongs to."""

    def new_secret(self) -> str:
        """A fresh random base32 secret (160 bits)."""
        ...

    def provisioning_uri(self, secret: str, *, account: str, issuer: str) -> str:
        """The ``otpauth://totp/...`` URI authenticator apps import (QR code)."""
        ...

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The time step (within the accepted offsets of ``now``) whose code is ``code``,
        compared in constant time; None when none matches."""
        ...


class SecretSealer(Protocol):
    """Authenticated encryption of the TOTP secrets at rest (ADR 0017).

    ``context`` (the account id) is bound to the ciphertext: a sealed secret copied to
    another account's row does not open."""

    def seal(self, secret: str, *, context: str) -> str: ...

    def open(self, sealed: str, *, context: str) -> str:
        """Raises ``ValueError`` when the value was not sealed with this key and context."""
        ...
