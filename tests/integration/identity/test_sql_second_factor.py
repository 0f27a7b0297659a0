"""The SQL second-factor store on PostgreSQL and SQLite (after the migrations): the
shared contract (tests/unit/identity/second_factor_contract.py), concurrency included,
and what deleting an account does to its rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlRefreshTokenStore, SqlSecondFactorStore
from hduce.adapters.sql.models import UserRow
from hduce.adapters.sql.second_factor import (
    RecoveryCodeRow,
    SecondFactorSessionRow,
    TotpEnrolmentRow,
)
from hduce.application.ports import RefreshTokenRecord
from hduce.domain.credentials import hash_opaque_token
from hduce.domain.ids import uuid7
from tests.unit.identity.second_factor_contract import (
    T0,
    NewUser,
    SecondFactorStoreContract,
    confirmed,
)


@pytest.fixture
def store(engine: AsyncEngine) -> SqlSecondFactorStore:
    return SqlSecondFactorStore(engine)


class TestSqlSecondFactorStore(SecondFactorStoreContract):
    pass


async def test_deleting_an_account_deletes_its_second_factor(
    engine: AsyncEngine, store: SqlSecondFactorStore, new_user: NewUser
) -> None:
    user_id = await new_user()
    await confirmed(store, user_id)
    await store.mark_session(uuid7(), user_id, T0)
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        await connection.execute(delete(UserRow).where(UserRow.id == user_id))
    async with engine.connect() as connection:
        for row in (TotpEnrolmentRow, RecoveryCodeRow, SecondFactorSessionRow):
            count = await connection.scalar(
                select(func.count()).select_from(row).where(row.user_id == user_id)
            )
            assert count == 0, row.__tablename__


async def test_only_hashes_and_sealed_secrets_are_stored(
    engine: AsyncEngine, store: SqlSecondFactorStore, new_user: NewUser
) -> None:
    user_id = await new_user()
    codes = await confirmed(store, user_id)
    async with engine.connect() as connection:
        stored = (
            (
                await connection.execute(
                    select(RecoveryCodeRow.code_hash).where(RecoveryCodeRow.user_id == user_id)
                )
            )
            .scalars()
            .all()
        )
    assert len(stored) == 10 and all(len(code_hash) == 64 for code_hash in stored)
    shown = {code.replace("-", "") for code in codes}
    assert not shown & set(stored)


async def test_the_marks_of_ended_sessions_are_forgotten(
    engine: AsyncEngine, store: SqlSecondFactorStore, new_user: NewUser
) -> None:
    user_id = await new_user()
    tokens = SqlRefreshTokenStore(engine)
    live, revoked, expired, rotated_away = uuid7(), uuid7(), uuid7(), uuid7()
    for family, expires in (
        (live, T0 + timedelta(days=1)),
        (revoked, T0 + timedelta(days=1)),
        (expired, T0 - timedelta(seconds=1)),
        (rotated_away, T0 + timedelta(days=1)),
    ):
        await tokens.issue(
            RefreshTokenRecord(
                token_hash=hash_opaque_token(f"token-{family}"),
                user_id=user_id,
                family_id=family,
                issued_at=T0 - timedelta(days=1),
                expires_at=expires,
            )
        )
    await tokens.revoke_family(revoked, now=T0)
    # Rotated: the old token is spent, its successor live: the session goes on.
    await tokens.rotate(
        hash_opaque_token(f"token-{rotated_away}"),
        new_token_hash=hash_opaque_token("successor"),
        now=T0,
        expires_at=T0 + timedelta(days=2),
    )
    without_tokens = uuid7()
    for session in (live, revoked, expired, rotated_away, without_tokens):
        await store.mark_session(session, user_id, T0)

    assert await store.forget_ended_sessions(T0) == 3
    assert await store.is_session_marked(live) and await store.is_session_marked(rotated_away)
    for ended in (revoked, expired, without_tokens):
        assert not await store.is_session_marked(ended)
    assert await store.forget_ended_sessions(T0) == 0
