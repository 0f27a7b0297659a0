"""Authentication reads the account's access state from a cache: no unit of work while
it is warm, changes through this process seen at once, changes elsewhere within the TTL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from hduce.adapters.memory import InMemoryUserAccessCache
from hduce.application.identity.access_cache import LayeredUserAccessCache
from hduce.application.identity.sessions import Authenticate
from hduce.application.ports import UnitOfWork, UserAccess
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7
from tests.unit.identity.support import ACCOUNT_CACHE_TTL, Kit


class CountingUnitOfWorkFactory:
    """The kit's unit-of-work factory, counting the units of work opened."""

    def __init__(self, kit: Kit) -> None:
        self._inner = kit.uow_factory
        self.opened = 0

    def __call__(self, *, serialized: bool = False, read_only: bool = False) -> UnitOfWork:
        self.opened += 1
        return self._inner(serialized=serialized, read_only=read_only)


def another_process(kit: Kit) -> tuple[Authenticate, CountingUnitOfWorkFactory]:
    """Authentication as a second process without Redis would run it: same database,
    a cache of its own."""
    counted = CountingUnitOfWorkFactory(kit)
    cache = InMemoryUserAccessCache(kit.clock, ACCOUNT_CACHE_TTL)
    return Authenticate(counted, kit.clock, kit.tokens, kit.denylist, cache), counted  # type: ignore[arg-type]


async def test_a_warm_cache_authenticates_without_opening_a_unit_of_work(kit: Kit) -> None:
    patient = await kit.patient()
    token = (await kit.sign_in()).access.token
    authenticate, counted = another_process(kit)

    assert (await authenticate(token)).user.id == patient.id
    assert counted.opened == 1  # the miss reads the account once
    for _ in range(3):
        principal = await authenticate(token)
        assert principal.user == UserAccess(patient.id, Role.PATIENT, True, None)
    assert counted.opened == 1


async def test_a_deactivation_through_another_process_is_seen_within_the_ttl(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    patient = await kit.patient()
    token = (await kit.sign_in()).access.token
    elsewhere, _ = another_process(kit)
    await elsewhere(token)  # warm in the other process

    await kit.set_active(admin.actor, patient.id, False)

    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await kit.authenticate(token)  # this process: at once
    await elsewhere(token)  # the other one: still its cached state...
    kit.clock.advance(ACCOUNT_CACHE_TTL)
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await elsewhere(token)  # ...for the TTL at most


async def test_a_role_changed_in_the_database_is_seen_within_the_ttl(kit: Kit) -> None:
    patient = await kit.patient()
    token = (await kit.sign_in()).access.token
    assert (await kit.authenticate(token)).user.role is Role.PATIENT
    kit.store.users[patient.id] = replace(kit.store.users[patient.id], role=Role.DOCTOR)

    kit.clock.advance(ACCOUNT_CACHE_TTL / 2)
    assert (await kit.authenticate(token)).user.role is Role.PATIENT
    kit.clock.advance(ACCOUNT_CACHE_TTL / 2)
    assert (await kit.authenticate(token)).actor.role is Role.DOCTOR


async def test_a_fill_after_a_change_does_not_bring_the_old_state_back(kit: Kit) -> None:
    cache = InMemoryUserAccessCache(kit.clock, ACCOUNT_CACHE_TTL)
    patient = await kit.patient()
    before = UserAccess.of(patient)
    after = replace(before, is_active=False)

    await cache.put(after)  # the change, committed while a request was reading...
    await cache.fill(before)  # ...the account as it was before
    assert await cache.get(patient.id) == after
    await cache.put(before)  # a later change replaces it
    assert await cache.get(patient.id) == before


async def test_the_cache_keeps_at_most_max_entries(kit: Kit) -> None:
    cache = InMemoryUserAccessCache(kit.clock, ACCOUNT_CACHE_TTL, max_entries=10)
    patient = await kit.patient()
    accounts = [replace(UserAccess.of(patient), id=uuid7()) for _ in range(25)]
    for access in accounts:
        await cache.fill(access)
    assert len(cache) <= 10
    assert await cache.get(accounts[-1].id) == accounts[-1]  # the newest stays


async def test_layered_processes_read_the_shared_entry_once_their_own_expires(kit: Kit) -> None:
    shared = InMemoryUserAccessCache(kit.clock, timedelta(minutes=10))  # stands for Redis
    here, there = (
        LayeredUserAccessCache(InMemoryUserAccessCache(kit.clock, ACCOUNT_CACHE_TTL), shared)
        for _ in range(2)
    )
    patient = await kit.patient()
    before = UserAccess.of(patient)
    await here.fill(before)
    assert await there.get(patient.id) == before  # from the shared layer, kept locally

    changed = replace(before, role=Role.DOCTOR)
    await here.put(changed)
    assert await here.get(patient.id) == changed  # the process that changed it: at once
    assert await there.get(patient.id) == before  # another: its own copy...
    kit.clock.advance(ACCOUNT_CACHE_TTL)
    assert await there.get(patient.id) == changed  # ...until it expires
