"""In-memory store of emailed single-use tokens (the ``AccountTokenStore`` port).

The embedded default when there is no SQL engine, and the fake of the unit tests.
Every method runs without awaiting in between its reads and writes, so on one event
loop each call is atomic, like the SQL ``UPDATE ... RETURNING`` it mirrors.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

from hduce.application.ports import (
    AccountTokenRecord,
    ConsumeResult,
    LinkPurpose,
    TokenConsumed,
    TokenNotConsumed,
)
from hduce.domain.errors import AlreadyExists


class InMemoryAccountTokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, AccountTokenRecord] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    async def issue(self, record: AccountTokenRecord) -> None:
        if record.token_hash in self._tokens:
            raise AlreadyExists("account token already stored")
        self._tokens[record.token_hash] = record

    async def consume(
        self, token_hash: str, *, purpose: LinkPurpose, now: datetime
    ) -> ConsumeResult:
        record = self._tokens.get(token_hash)
        if record is None or record.purpose is not purpose:
            return TokenNotConsumed("unknown")
        if record.used_at is not None:
            return TokenNotConsumed("used")
        if record.expires_at <= now:
            return TokenNotConsumed("expired")
        used = replace(record, used_at=now)
        self._tokens[token_hash] = used
        return TokenConsumed(used)

    async def find(self, token_hash: str) -> AccountTokenRecord | None:
        return self._tokens.get(token_hash)

    async def use_all_for_user(self, user_id: UUID, purpose: LinkPurpose, *, now: datetime) -> int:
        count = 0
        for token_hash, record in list(self._tokens.items()):
            live = record.used_at is None and record.expires_at > now
            if live and record.user_id == user_id and record.purpose is purpose:
                self._tokens[token_hash] = replace(record, used_at=now)
                count += 1
        return count

    async def purge_expired(self, now: datetime) -> int:
        expired = [h for h, record in self._tokens.items() if record.expires_at <= now]
        for token_hash in expired:
            del self._tokens[token_hash]
        return len(expired)
