"""The calendar feed store (ADR 0023) on PostgreSQL and SQLite, after the migrations:
tokens found by their hash only, one owner's feeds listed and counted, revocation
once (concurrent revocations keep the first time), another owner's feed untouchable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlCalendarFeedStore, SqlUnitOfWorkFactory
from hduce.adapters.sql.calendar_feeds import CalendarFeedRow
from hduce.application.ports import CalendarFeed
from hduce.domain.credentials import hash_opaque_token
from hduce.domain.identity import Role, User
from hduce.domain.ids import uuid7

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


async def _user(uow_factory: SqlUnitOfWorkFactory, name: str) -> UUID:
    user = User(
        id=uuid7(),
        email=f"{name}.{uuid7().hex[-8:]}@example.org",
        full_name=name.title(),
        role=Role.PATIENT,
        created_at=NOW,
    )
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user.id


def _feed(owner_id: UUID, token: str, *, at: datetime = NOW) -> CalendarFeed:
    return CalendarFeed(
        id=uuid7(),
        owner_id=owner_id,
        label="Phone",
        token_hash=hash_opaque_token(token),
        created_at=at,
    )


async def test_feeds_are_found_by_the_hash_of_their_token(
    engine: AsyncEngine, uow_factory: SqlUnitOfWorkFactory
) -> None:
    store = SqlCalendarFeedStore(engine)
    owner = await _user(uow_factory, "ada")
    feed = _feed(owner, "secret-token")
    assert await store.add(feed, max_active=10)

    assert await store.by_token_hash(hash_opaque_token("secret-token")) == feed
    assert await store.by_token_hash(hash_opaque_token("secret-tokeN")) is None
    async with engine.connect() as connection:
        stored = (await connection.execute(select(CalendarFeedRow.token_hash))).scalars().all()
    assert stored == [hash_opaque_token("secret-token")]  # never the token itself

    with pytest.raises(IntegrityError):  # one feed per token
        await store.add(_feed(owner, "secret-token"), max_active=10)


async def test_listing_counting_and_revoking(
    engine: AsyncEngine, uow_factory: SqlUnitOfWorkFactory
) -> None:
    store = SqlCalendarFeedStore(engine)
    ada, grace = await _user(uow_factory, "ada"), await _user(uow_factory, "grace")
    first = _feed(ada, "one")
    second = _feed(ada, "two", at=NOW + timedelta(minutes=1))
    theirs = _feed(grace, "three")
    for feed in (second, theirs, first):
        assert await store.add(feed, max_active=10)

    assert await store.list_for(ada) == [first, second]
    assert await store.count_active(ada) == 2

    # Another owner's feed is out of reach, like an unknown one.
    assert await store.revoke(theirs.id, owner_id=ada, now=NOW) is None
    assert await store.revoke(uuid7(), owner_id=ada, now=NOW) is None
    assert (await store.list_for(grace))[0].is_active

    revoked = await store.revoke(first.id, owner_id=ada, now=NOW + timedelta(hours=1))
    assert revoked is not None and revoked.revoked_at == NOW + timedelta(hours=1)
    again = await store.revoke(first.id, owner_id=ada, now=NOW + timedelta(hours=2))
    assert again is not None and again.revoked_at == NOW + timedelta(hours=1)  # the first time
    assert await store.count_active(ada) == 1
    found = await store.by_token_hash(hash_opaque_token("one"))
    assert found is not None and not found.is_active


async def test_concurrent_revocations_keep_one_time(
    engine: AsyncEngine, uow_factory: SqlUnitOfWorkFactory
) -> None:
    store = SqlCalendarFeedStore(engine)
    owner = await _user(uow_factory, "ada")
    feed = _feed(owner, "raced")
    assert await store.add(feed, max_active=10)
    times = [NOW + timedelta(seconds=index) for index in range(10)]
    results = await asyncio.gather(*(store.revoke(feed.id, owner_id=owner, now=t) for t in times))
    assert all(result is not None for result in results)
    [final] = await store.list_for(owner)
    assert final.revoked_at in times
    assert {result.revoked_at for result in results if result is not None} == {final.revoked_at}


async def test_the_cap_on_active_feeds_holds_under_concurrent_creations(
    engine: AsyncEngine, uow_factory: SqlUnitOfWorkFactory
) -> None:
    store = SqlCalendarFeedStore(engine)
    owner, other = await _user(uow_factory, "ada"), await _user(uow_factory, "grace")
    assert await store.add(_feed(other, "elsewhere"), max_active=3)  # not counted for ada
    results = await asyncio.gather(
        *(store.add(_feed(owner, f"token-{index}"), max_active=3) for index in range(20))
    )
    assert sorted(results).count(True) == 3
    assert await store.count_active(owner) == 3

    [first, *_] = await store.list_for(owner)
    await store.revoke(first.id, owner_id=owner, now=NOW)  # revoked ones do not count
    assert await store.add(_feed(owner, "after-revoking"), max_active=3)
    assert not await store.add(_feed(owner, "one-too-many"), max_active=3)
