"""The in-memory ``SessionStore`` against the port's contract."""

from __future__ import annotations

from uuid import UUID

import pytest

from hduce.adapters.memory import InMemoryRefreshTokenStore, InMemorySessionStore
from hduce.domain.ids import uuid7
from tests.unit.adapters.session_store_contract import NewUser, SessionStoreContract


@pytest.fixture
def refresh_tokens() -> InMemoryRefreshTokenStore:
    return InMemoryRefreshTokenStore()


@pytest.fixture
def sessions(refresh_tokens: InMemoryRefreshTokenStore) -> InMemorySessionStore:
    return InMemorySessionStore(refresh_tokens)


@pytest.fixture
def new_user() -> NewUser:
    async def make() -> UUID:
        return uuid7()

    return make


class TestMemorySessions(SessionStoreContract):
    pass
