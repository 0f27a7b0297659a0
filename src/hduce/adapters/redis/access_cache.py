"""The ``UserAccessCache`` port on Redis: one key per account, shared by every process.

A change committed through any process replaces the entry (``put``), so every process
sees it once its own short-lived copy expires (``LayeredUserAccessCache``). Entries still expire after ``ttl`` (10 minutes by
default): that bounds how long a change made outside HDUCE (SQL by hand) goes unseen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
from redis.asyncio import Redis

from hduce.adapters.redis.client import DEFAULT_PREFIX
from hduce.application.ports import UserAccess
from hduce.domain.identity import Role

DEFAULT_TTL = timedelta(minutes=10)


class _Entry(msgspec.Struct, array_like=True, frozen=True):
    role: str
    active: bool
    #: ``tokens_valid_after`` in epoch milliseconds, None when never revoked.
    valid_after_ms: int | None
    #: The institution an admin is scoped to (ADR 0026); left out of entries written
    #: before scopes existed, which then read as global (no account had a scope then).
    institution_id: UUID | None = None


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Entry).decode


class RedisUserAccessCache:
    def __init__(
        self,
        redis: Redis,
        *,
        ttl: timedelta = DEFAULT_TTL,
        prefix: str = DEFAULT_PREFIX + "access:",
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._redis = redis
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._prefix = prefix

    async def get(self, user_id: UUID) -> UserAccess | None:
        raw = await self._redis.get(self._prefix + str(user_id))
        if raw is None:
            return None
        try:
            entry = _decode(raw if isinstance(raw, bytes) else str(raw).encode())
            role = Role(entry.role)
        except (msgspec.DecodeError, ValueError):
            return None  # written by another version: read the database instead
        valid_after = (
            None
            if entry.valid_after_ms is None
            else datetime.fromtimestamp(entry.valid_after_ms / 1000, UTC)
        )
        return UserAccess(user_id, role, entry.active, valid_after, entry.institution_id)

    async def fill(self, access: UserAccess) -> None:
        await self._redis.set(self._name(access), self._value(access), px=self._ttl_ms, nx=True)

    async def put(self, access: UserAccess) -> None:
        await self._redis.set(self._name(access), self._value(access), px=self._ttl_ms)

    def _name(self, access: UserAccess) -> str:
        return self._prefix + str(access.id)

    @staticmethod
    def _value(access: UserAccess) -> bytes:
        after = access.tokens_valid_after
        return _encode(
            _Entry(
                access.role.value,
                access.is_active,
                None if after is None else round(after.timestamp() * 1000),
                access.institution_id,
            )
        )
