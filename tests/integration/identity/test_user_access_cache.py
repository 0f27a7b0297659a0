"""The account-access cache on a real Redis, and authentication on PostgreSQL + Redis:
with the cache warm, a request with a valid token sends no SQL statement at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.clock import SystemClock
from hduce.adapters.memory import InMemoryRefreshTokenStore, InMemoryTokenDenylist
from hduce.adapters.redis import RedisUserAccessCache
from hduce.adapters.security.tokens import JoseAccessTokens
from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine
from hduce.application.identity.accounts import SetUserActive
from hduce.application.identity.sessions import Authenticate
from hduce.application.ports import UserAccess
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from tests import services

SECRET = "access-cache-test-secret-0123456789abcdef"


@pytest.fixture
def cache(redis: Redis, prefix: str) -> RedisUserAccessCache:
    return RedisUserAccessCache(redis, prefix=prefix + "access:")


def _access(**changes: Any) -> UserAccess:
    values: dict[str, Any] = {"id": uuid7(), "role": Role.PATIENT, "is_active": True}
    return UserAccess(**(values | changes))


async def test_entries_round_trip(cache: RedisUserAccessCache) -> None:
    plain = _access()
    revoked = _access(
        role=Role.DOCTOR,
        is_active=False,
        tokens_valid_after=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    for access in (plain, revoked):
        await cache.fill(access)
        assert await cache.get(access.id) == access
    assert await cache.get(uuid7()) is None


async def test_an_admins_institution_scope_round_trips(
    cache: RedisUserAccessCache, redis: Redis, prefix: str
) -> None:
    scoped = _access(role=Role.ADMIN, institution_id=uuid7())
    await cache.put(scoped)
    assert await cache.get(scoped.id) == scoped
    # An entry written before scopes existed (three fields) reads as a global admin.
    await redis.set(f"{prefix}access:{scoped.id}", b"\x93\xa5admin\xc3\xc0")
    assert await cache.get(scoped.id) == UserAccess(scoped.id, Role.ADMIN, True)


async def test_fill_never_replaces_and_put_always_does(cache: RedisUserAccessCache) -> None:
    before = _access()
    after = UserAccess(before.id, Role.ADMIN, False)
    await cache.put(after)  # a change committed while a request read the old row...
    await cache.fill(before)  # ...which then fills the cache: too late
    assert await cache.get(before.id) == after
    await cache.put(before)
    assert await cache.get(before.id) == before


async def test_entries_expire(redis: Redis, prefix: str) -> None:
    cache = RedisUserAccessCache(redis, ttl=timedelta(minutes=10), prefix=prefix)
    access = _access()
    await cache.fill(access)
    assert 590_000 < await redis.pttl(f"{prefix}{access.id}") <= 600_000


async def test_an_entry_it_cannot_read_counts_as_a_miss(
    cache: RedisUserAccessCache, redis: Redis, prefix: str
) -> None:
    access = _access()
    await redis.set(f"{prefix}access:{access.id}", b"\x93\xa5nurse\xc3\xc0")  # unknown role
    assert await cache.get(access.id) is None
    await redis.set(f"{prefix}access:{access.id}", b"not msgpack at all")
    assert await cache.get(access.id) is None


# ------------------------------------------------------------------ on PostgreSQL


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    from hduce.adapters.sql import upgrade_database

    async with services.temporary_database(postgres_url, prefix="hduce_access") as url:
        await upgrade_database(url)
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


class StatementCounter:
    """Every statement SQLAlchemy sends on ``engine`` (pool pings included)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)
        event.listen(engine.sync_engine, "engine_connect", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


async def test_a_valid_token_costs_no_sql_while_the_cache_is_warm_on_postgresql(
    pg_engine: AsyncEngine, redis: Redis, prefix: str
) -> None:
    clock = SystemClock()
    uow_factory = SqlUnitOfWorkFactory(pg_engine)
    tokens = JoseAccessTokens.with_secret(
        SECRET, issuer="hduce", audience="hduce-api", ttl=timedelta(minutes=15)
    )
    denylist = InMemoryTokenDenylist(clock)

    def process() -> tuple[Authenticate, RedisUserAccessCache]:
        cache = RedisUserAccessCache(redis, prefix=prefix + "access:")
        return Authenticate(uow_factory, clock, tokens, denylist, cache), cache

    admin = User(uuid7(), "root@example.org", "Root", Role.ADMIN, clock.now())
    patient = User(uuid7(), "ana@example.org", "Ana", Role.PATIENT, clock.now())
    async with uow_factory() as uow:
        await uow.users.add(admin)
        await uow.users.add(patient)
        await uow.commit()
    token = tokens.issue(
        user_id=patient.id, role=Role.PATIENT, now=clock.now() - timedelta(seconds=2)
    ).token
    (first, first_cache), (second, _) = process(), process()
    counter = StatementCounter(pg_engine)

    assert (await first(token)).user.id == patient.id
    assert counter.count > 0  # the miss reads the account
    counter.count = 0
    for authenticate in (first, second, first, second):
        assert (await authenticate(token)).actor == Actor(Role.PATIENT, patient.id)
    assert counter.count == 0

    # Deactivated through the first process: the second refuses on its next request.
    set_active = SetUserActive(uow_factory, clock, InMemoryRefreshTokenStore(), first_cache)
    await set_active(admin.actor, patient.id, False)
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await second(token)
    await set_active(admin.actor, patient.id, True)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await second(token)  # issued before the deactivation: dead for good
