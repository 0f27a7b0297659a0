"""Fixtures of the use-case tests: a seeded clinic over the in-memory adapters."""

from __future__ import annotations

import pytest

from hduce.adapters.memory import InMemoryStore
from tests.fakes import FixedClock
from tests.unit.application.support import NOW, Clinic, seed_clinic


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
async def clinic(store: InMemoryStore, clock: FixedClock) -> Clinic:
    return await seed_clinic(store, clock)
