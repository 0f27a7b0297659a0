"""The SQL ``SessionStore`` on PostgreSQL and SQLite (after the migrations) against the
port's contract, and the statement it lists an account's sessions with."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlRefreshTokenStore, SqlSessionStore
from hduce.adapters.sql.models import UserRow
from tests.unit.adapters.session_store_contract import (
    NOW,
    NewUser,
    SessionStoreContract,
    session_of,
    token_for,
)


@pytest.fixture
def refresh_tokens(engine: AsyncEngine) -> SqlRefreshTokenStore:
    return SqlRefreshTokenStore(engine)


@pytest.fixture
def sessions(engine: AsyncEngine) -> SqlSessionStore:
    return SqlSessionStore(engine)


class TestSqlSessions(SessionStoreContract):
    pass


async def test_sessions_go_with_their_account(
    engine: AsyncEngine,
    sessions: SqlSessionStore,
    refresh_tokens: SqlRefreshTokenStore,
    new_user: NewUser,
) -> None:
    """Deleting an account (the retention sweep, an admin's purge) deletes its sessions."""
    user = await new_user()
    session = session_of(user)
    await sessions.add(session)
    await token_for(refresh_tokens, session)
    async with engine.begin() as connection:
        await connection.execute(UserRow.__table__.delete().where(UserRow.id == user))
    assert await sessions.get(session.id) is None
    assert await sessions.active(user, now=NOW) == []
