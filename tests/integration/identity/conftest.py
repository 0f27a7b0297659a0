"""Real Redis and real databases (PostgreSQL and SQLite) for the identity adapters,
with the fixture names the shared port contracts (tests/unit/adapters/contract.py) use,
and the account rows the SQL stores' foreign keys to ``users`` need (``accounts``,
``new_user``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from redis.asyncio import Redis
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.redis import RedisCache, RedisRateLimiter, RedisTokenDenylist, create_redis
from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.adapters.sql.models import UserRow
from hduce.domain.ids import uuid7
from tests import services
from tests.unit.adapters.contract import AdvanceTime, TimeNow
from tests.unit.identity.second_factor_contract import NewUser


@pytest.fixture
def prefix() -> str:
    """Keys of one test, so tests sharing the Redis server never see each other."""
    return f"hduce-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = create_redis(redis_url)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def time_now() -> TimeNow:
    return lambda: datetime.now(UTC)


@pytest.fixture
def advance_time() -> AdvanceTime:
    return asyncio.sleep


@pytest.fixture
def cache(redis: Redis, prefix: str) -> RedisCache:
    return RedisCache(redis, prefix=prefix + "cache:")


@pytest.fixture
def rate_limiter(redis: Redis, prefix: str) -> RedisRateLimiter:
    return RedisRateLimiter(redis, prefix=prefix + "rate:")


@pytest.fixture
def denylist(redis: Redis, prefix: str) -> RedisTokenDenylist:
    return RedisTokenDenylist(redis, prefix=prefix + "deny:")


# ------------------------------------------------------------------ SQL


@pytest.fixture(params=["postgresql", "sqlite"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgresql":
        # What the ``postgres_database`` fixture does (a fresh database per test, dropped
        # afterwards); async fixtures cannot be requested dynamically, hence by hand.
        admin_url = request.getfixturevalue("postgres_url")
        async with services.temporary_database(admin_url, prefix="hduce_identity") as url:
            await upgrade_database(url)
            yield url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}"
        await upgrade_database(url)
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=20, max_overflow=10)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


class Accounts:
    """Account rows in the test's database, for the tables with a foreign key to
    ``users`` (the stores never read them, so every account is a patient)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._seen: set[UUID] = set()

    async def add(self, user_id: UUID | None = None) -> UUID:
        """A new account (with this id, else a new one)."""
        user_id = user_id or uuid7()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(UserRow).values(
                    id=user_id,
                    email=f"{user_id.hex}@example.org",
                    full_name="Contract",
                    role="patient",
                    is_active=True,
                    timezone="UTC",
                    email_opt_out=False,
                    sms_opt_out=False,
                    version=1,
                    created_at=datetime.now(UTC),
                )
            )
        self._seen.add(user_id)
        return user_id

    async def ensure(self, user_id: UUID) -> None:
        """The account of an id a contract made up, created the first time."""
        if user_id not in self._seen:
            await self.add(user_id)


@pytest.fixture
def accounts(engine: AsyncEngine) -> Accounts:
    return Accounts(engine)


@pytest.fixture
def new_user(accounts: Accounts) -> NewUser:
    """What the second-factor and session contracts call to get an account."""
    return accounts.add
