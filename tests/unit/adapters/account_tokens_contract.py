"""The ``AccountTokenStore`` contract (emailed single-use tokens), run on the in-memory
store (``tests/unit/adapters/test_account_tokens_memory.py``) and on PostgreSQL and
SQLite (``tests/integration/identity/test_sql_account_tokens.py``).

Fixture: ``account_tokens`` (an empty store whose ``issue`` accepts any user id; the
SQL one creates the user first).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hduce.application.ports import (
    AccountTokenRecord,
    AccountTokenStore,
    LinkPurpose,
    TokenConsumed,
    TokenNotConsumed,
)
from hduce.domain.ids import uuid7

RESET = LinkPurpose.PASSWORD_RESET
VERIFY = LinkPurpose.EMAIL_VERIFICATION


def token_record(
    now: datetime,
    *,
    purpose: LinkPurpose = RESET,
    user_id: UUID | None = None,
    ttl: timedelta = timedelta(minutes=30),
) -> AccountTokenRecord:
    return AccountTokenRecord(
        token_hash=f"hash-{uuid7().hex}",
        user_id=user_id or uuid7(),
        purpose=purpose,
        email="ana@example.org",
        created_at=now,
        expires_at=now + ttl,
    )


def _now() -> datetime:
    # Whole milliseconds: what every database stores exactly.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class AccountTokenStoreContract:
    async def test_a_token_is_used_once(self, account_tokens: AccountTokenStore) -> None:
        now = _now()
        record = token_record(now)
        await account_tokens.issue(record)
        assert await account_tokens.find(record.token_hash) == record
        later = now + timedelta(minutes=1)
        result = await account_tokens.consume(record.token_hash, purpose=RESET, now=later)
        assert result == TokenConsumed(AccountTokenRecord(**{**_fields(record), "used_at": later}))
        again = await account_tokens.consume(record.token_hash, purpose=RESET, now=later)
        assert again == TokenNotConsumed("used")
        found = await account_tokens.find(record.token_hash)
        assert found is not None and found.used_at == later

    async def test_refusals_change_nothing(self, account_tokens: AccountTokenStore) -> None:
        now = _now()
        record = token_record(now, purpose=VERIFY)
        await account_tokens.issue(record)
        unknown = await account_tokens.consume("hash-unknown", purpose=VERIFY, now=now)
        other_purpose = await account_tokens.consume(record.token_hash, purpose=RESET, now=now)
        expired = await account_tokens.consume(
            record.token_hash, purpose=VERIFY, now=record.expires_at
        )
        assert (unknown, other_purpose, expired) == (
            TokenNotConsumed("unknown"),
            TokenNotConsumed("unknown"),
            TokenNotConsumed("expired"),
        )
        assert await account_tokens.find(record.token_hash) == record

    async def test_concurrent_uses_one_wins(self, account_tokens: AccountTokenStore) -> None:
        now = _now()
        record = token_record(now)
        await account_tokens.issue(record)
        results = await asyncio.gather(
            *(account_tokens.consume(record.token_hash, purpose=RESET, now=now) for _ in range(10))
        )
        assert [type(r) for r in results].count(TokenConsumed) == 1
        assert results.count(TokenNotConsumed("used")) == 9

    async def test_use_all_of_a_user_and_purpose(self, account_tokens: AccountTokenStore) -> None:
        now = _now()
        user_id = uuid7()
        first, second = token_record(now, user_id=user_id), token_record(now, user_id=user_id)
        verification = token_record(now, user_id=user_id, purpose=VERIFY)
        someone_else = token_record(now)
        stale = token_record(now - timedelta(hours=1), user_id=user_id)
        for record in (first, second, verification, someone_else, stale):
            await account_tokens.issue(record)
        assert await account_tokens.use_all_for_user(user_id, RESET, now=now) == 2
        for record, used in ((first, True), (second, True), (verification, False)):
            found = await account_tokens.find(record.token_hash)
            assert found is not None and (found.used_at is not None) is used
        found = await account_tokens.find(someone_else.token_hash)
        assert found is not None and found.used_at is None
        assert await account_tokens.use_all_for_user(user_id, RESET, now=now) == 0

    async def test_purge_forgets_expired_tokens(self, account_tokens: AccountTokenStore) -> None:
        now = _now()
        old, live = token_record(now - timedelta(hours=1)), token_record(now)
        await account_tokens.issue(old)
        await account_tokens.issue(live)
        assert await account_tokens.purge_expired(now) == 1
        assert await account_tokens.find(old.token_hash) is None
        assert await account_tokens.find(live.token_hash) == live


def _fields(record: AccountTokenRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in AccountTokenRecord.__slots__}
