"""The in-memory second-factor store keeps the same contract as the SQL one."""

from __future__ import annotations

from uuid import UUID

import pytest

from hduce.adapters.memory.second_factor import InMemorySecondFactorStore
from hduce.domain.ids import uuid7
from tests.unit.identity.second_factor_contract import NewUser, SecondFactorStoreContract


@pytest.fixture
def store() -> InMemorySecondFactorStore:
    return InMemorySecondFactorStore()


@pytest.fixture
def new_user() -> NewUser:
    async def make() -> UUID:
        return uuid7()

    return make


class TestInMemorySecondFactorStore(SecondFactorStoreContract):
    pass
