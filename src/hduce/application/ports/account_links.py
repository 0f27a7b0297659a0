"""Account-link ports: the single-use tokens of emailed links (password reset, email
verification, a walk-in's first password) and the mail that carries them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class LinkPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
    EMAIL_VERIFICATION = "email_verification"
    #: The first password of an account made without one (a walk-in patient).
    PASSWORD_SETUP = "password_setup"  # noqa: S105 - a purpose, not a password


@dataclass(frozen=True, slots=True)
class AccountTokenRecord:
    """One emailed token as stored: only its SHA-256, never the token itself."""

    token_hash: str
    user_id: UUID
    purpose: LinkPurpose
    #: The address the link was sent to (a verification proves this one only).
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenConsumed:
    """The token was live and is now used: nobody can use it again."""

    record: AccountTokenRecord


@dataclass(frozen=True, slots=True)
class TokenNotConsumed:
    """Nothing changed: ``reason`` is "unknown" (or another purpose's), "used" or "expired"."""

    reason: str


ConsumeResult = TokenConsumed | TokenNotConsumed


class AccountTokenStore(Protocol):
    async def issue(self, record: AccountTokenRecord) -> None: ...

    async def consume(
        self, token_hash: str, *, purpose: LinkPurpose, now: datetime
    ) -> ConsumeResult:
        """Atomically: if the token of ``purpose`` is live (not used, not expired), mark it
        used at ``now`` -> ``TokenConsumed``. Of two concurrent uses exactly one wins."""
        ...

    async def find(self, token_hash: str) -> AccountTokenRecord | None: ...

    async def use_all_for_user(self, user_id: UUID, purpose: LinkPurpose, *, now: datetime) -> int:
        """Mark every live token of the user and purpose used (e.g. once the password was
        reset, the other reset links of the user die); returns how many were live."""
        ...

    async def purge_expired(self, now: datetime) -> int:
        """Forget tokens past their expiry."""
        ...


class LinkMailer(Protocol):
    """Email carrying a secret (a single-use link): handed to the mail server at once,
    outside the request, and never stored (ADR 0015). Best effort with a few retries:
    a link that does not arrive is asked for again."""

    def send_soon(self, *, to: str, subject: str, body: str) -> None:
        """Schedule the message and return at once (the caller's answer must not take
        longer when an email goes out than when none does)."""
        ...
