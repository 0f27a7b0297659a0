"""In-memory refresh-token store and access-token denylist.

The embedded defaults when there is no SQL engine (refresh tokens) or no Redis
(denylist), and the fakes of the unit tests. State lives in this process only.
Every method runs without awaiting in between its reads and writes, so on one
event loop each call is atomic, like the SQL ``UPDATE ... RETURNING`` it mirrors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from hduce.application.ports import (
    Clock,
    RefreshRefused,
    RefreshTokenRecord,
    Reused,
    Rotated,
    RotateResult,
)
from hduce.domain.errors import AlreadyExists


class InMemoryRefreshTokenStore:
    """The ``RefreshTokenStore`` port over a dict keyed by token hash."""

    def __init__(self) -> None:
        self._tokens: dict[str, RefreshTokenRecord] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    async def issue(self, record: RefreshTokenRecord) -> None:
        if record.token_hash in self._tokens:
            raise AlreadyExists("refresh token already stored")
        self._tokens[record.token_hash] = record

    async def rotate(
        self, token_hash: str, *, new_token_hash: str, now: datetime, expires_at: datetime
    ) -> RotateResult:
        record = self._tokens.get(token_hash)
        if record is None:
            return RefreshRefused("unknown")
        if record.rotated_at is not None:
            return Reused(record.user_id, record.family_id)
        if record.revoked_at is not None:
            return RefreshRefused("revoked")
        if record.expires_at <= now:
            return RefreshRefused("expired")
        self._tokens[token_hash] = replace(record, rotated_at=now)
        self._tokens[new_token_hash] = RefreshTokenRecord(
            token_hash=new_token_hash,
            user_id=record.user_id,
            family_id=record.family_id,
            issued_at=now,
            expires_at=expires_at,
        )
        return Rotated(record.user_id, record.family_id)

    async def find(self, token_hash: str) -> RefreshTokenRecord | None:
        return self._tokens.get(token_hash)

    async def revoke_family(self, family_id: UUID, *, now: datetime) -> int:
        return self._revoke(now, lambda record: record.family_id == family_id)

    async def revoke_all_for_user(self, user_id: UUID, *, now: datetime) -> int:
        return self._revoke(now, lambda record: record.user_id == user_id)

    def _revoke(self, now: datetime, selected: Callable[[RefreshTokenRecord], bool]) -> int:
        count = 0
        for token_hash, record in list(self._tokens.items()):
            if record.revoked_at is None and selected(record):
                self._tokens[token_hash] = replace(record, revoked_at=now)
                if record.rotated_at is None and record.expires_at > now:
                    count += 1
        return count

    def live_families(self, now: datetime, user_id: UUID) -> set[UUID]:
        """The account's families holding a token that can still be used (for
        ``InMemorySessionStore``)."""
        return {
            record.family_id
            for record in self._tokens.values()
            if record.user_id == user_id
            and record.rotated_at is None
            and record.revoked_at is None
            and record.expires_at > now
        }

    def families(self) -> set[UUID]:
        """Families with any token left (not purged yet)."""
        return {record.family_id for record in self._tokens.values()}

    async def purge_expired(self, now: datetime) -> int:
        expired = [h for h, record in self._tokens.items() if record.expires_at <= now]
        for token_hash in expired:
            del self._tokens[token_hash]
        return len(expired)


class InMemoryTokenDenylist:
    """The ``TokenDenylist`` port: keys with an expiry instant, read from a ``Clock``."""

    _SWEEP_EVERY = 512

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until: dict[str, datetime] = {}
        self._writes = 0

    def __len__(self) -> int:
        return len(self._until)

    async def deny(self, key: str, until: datetime) -> None:
        now = self._clock.now()
        if until <= now:
            return
        current = self._until.get(key)
        if current is None or current < until:
            self._until[key] = until
        self._writes += 1
        if self._writes % self._SWEEP_EVERY == 0:
            self._sweep(now)

    async def is_denied(self, *keys: str) -> bool:
        now = self._clock.now()
        return any((until := self._until.get(key)) is not None and until > now for key in keys)

    def _sweep(self, now: datetime) -> None:
        for key in [k for k, until in self._until.items() if until <= now]:
            del self._until[key]
