"""The SQL second-factor store on PostgreSQL and SQLite (after the migrations): the
shared contract (tests/unit/identity/second_factor_contract.py), concurrency included,
and what deleting an account does to its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlSecondFactorStore
from hduce.adapters.sql.models import UserRow
from hduce.adapters.sql.second_factor import (
    RecoveryCodeRow,
    SecondFactorSessionRow,
    TotpEnrolmentRow,
)
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


@pytest.fixture
def new_user(engine: AsyncEngine) -> NewUser:
    async def make() -> UUID:
        user_id = uuid7()
        async with engine.begin() as connection:
            await connection.execute(
                insert(UserRow).values(
                    id=user_id,
                    email=f"{user_id.hex}@example.org",
                    full_name="Staff",
                    role="doctor",
                    is_active=True,
                    timezone="UTC",
                    email_opt_out=False,
                    sms_opt_out=False,
                    version=1,
                    created_at=datetime.now(UTC),
                )
            )
        return user_id

    return make


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
