"""The SQL store of emailed single-use tokens on PostgreSQL and SQLite (after the
migrations): the shared contract (single use under real concurrency included), and the
foreign key that takes a deleted account's tokens along."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlAccountTokenStore
from hduce.adapters.sql.models import UserRow
from hduce.application.ports import (
    AccountTokenRecord,
    ConsumeResult,
    LinkPurpose,
)
from tests.integration.identity.conftest import Accounts
from tests.unit.adapters.account_tokens_contract import AccountTokenStoreContract, token_record


class UserSeedingStore:
    """The SQL store, creating the referenced user first (the contract makes up user
    ids; the table has a foreign key to ``users``)."""

    def __init__(self, engine: AsyncEngine, accounts: Accounts) -> None:
        self.store = SqlAccountTokenStore(engine)
        self.ensure_user = accounts.ensure

    async def issue(self, record: AccountTokenRecord) -> None:
        await self.ensure_user(record.user_id)
        await self.store.issue(record)

    async def consume(
        self, token_hash: str, *, purpose: LinkPurpose, now: datetime
    ) -> ConsumeResult:
        return await self.store.consume(token_hash, purpose=purpose, now=now)

    async def find(self, token_hash: str) -> AccountTokenRecord | None:
        return await self.store.find(token_hash)

    async def use_all_for_user(self, user_id: UUID, purpose: LinkPurpose, *, now: datetime) -> int:
        return await self.store.use_all_for_user(user_id, purpose, now=now)

    async def purge_expired(self, now: datetime) -> int:
        return await self.store.purge_expired(now)


@pytest.fixture
def account_tokens(engine: AsyncEngine, accounts: Accounts) -> UserSeedingStore:
    return UserSeedingStore(engine, accounts)


class TestSqlAccountTokens(AccountTokenStoreContract):
    pass


async def test_deleting_an_account_deletes_its_tokens(
    account_tokens: UserSeedingStore, engine: AsyncEngine
) -> None:
    record = token_record(datetime.now(UTC), ttl=timedelta(hours=1))
    await account_tokens.issue(record)
    async with engine.begin() as connection:
        await connection.execute(delete(UserRow).where(UserRow.id == record.user_id))
    assert await account_tokens.find(record.token_hash) is None
