"""The in-memory ``AccountTokenStore`` against the shared contract."""

from __future__ import annotations

import pytest

from hduce.adapters.memory.account_tokens import InMemoryAccountTokenStore
from tests.unit.adapters.account_tokens_contract import AccountTokenStoreContract


@pytest.fixture
def account_tokens() -> InMemoryAccountTokenStore:
    return InMemoryAccountTokenStore()


class TestMemoryAccountTokens(AccountTokenStoreContract):
    pass
