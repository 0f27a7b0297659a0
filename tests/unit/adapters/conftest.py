"""Fixtures of the in-memory adapters, named as ``contract.py`` expects them."""

from __future__ import annotations

import pytest

from hduce.adapters.memory import (
    InMemoryCache,
    InMemoryOutbox,
    InMemoryRateLimiter,
    InMemoryRealtimeFanout,
    InMemoryRefreshTokenStore,
    InMemoryStore,
    InMemoryStreamSlots,
    InMemoryTokenDenylist,
    InMemoryUnitOfWorkFactory,
)
from tests.fakes import FixedClock
from tests.unit.adapters.contract import AdvanceTime, TimeNow


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def uow_factory(store: InMemoryStore, clock: FixedClock) -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory(store, clock)


@pytest.fixture
def outbox(store: InMemoryStore, clock: FixedClock) -> InMemoryOutbox:
    return InMemoryOutbox(store, clock)


@pytest.fixture
def advance_time(clock: FixedClock) -> AdvanceTime:
    async def advance(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return advance


@pytest.fixture
def cache(clock: FixedClock) -> InMemoryCache:
    return InMemoryCache(clock)


@pytest.fixture
def rate_limiter(clock: FixedClock) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(clock)


@pytest.fixture
def fanout() -> InMemoryRealtimeFanout:
    return InMemoryRealtimeFanout()


@pytest.fixture
def tiny_fanout() -> InMemoryRealtimeFanout:
    return InMemoryRealtimeFanout(max_queue=2)


@pytest.fixture
def stream_slots() -> InMemoryStreamSlots:
    return InMemoryStreamSlots()


@pytest.fixture
def time_now(clock: FixedClock) -> TimeNow:
    return clock.now


@pytest.fixture
def refresh_tokens() -> InMemoryRefreshTokenStore:
    return InMemoryRefreshTokenStore()


@pytest.fixture
def denylist(clock: FixedClock) -> InMemoryTokenDenylist:
    return InMemoryTokenDenylist(clock)
