"""Fixtures of the SQL adapter tests: every test runs on PostgreSQL and on SQLite.

``sql_database_url`` is an empty database: a throwaway PostgreSQL database (from the
shared ``postgres_url`` fixture, so it skips - or fails under
HDUCE_TEST_REQUIRE_SERVICES=1 - when no server is configured) or a fresh SQLite file
in a folder that does not exist yet (``create_engine`` must create it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlOutbox, SqlUnitOfWorkFactory, create_engine, upgrade_database
from tests import services

#: Enough connections for the 50-way concurrency tests (plus the test's own).
POOL_SIZE = 60


@pytest.fixture(params=["postgresql", "sqlite"])
async def sql_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgresql":
        admin_url = request.getfixturevalue("postgres_url")
        async with services.temporary_database(admin_url, prefix="hduce_sql") as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'not-yet-created' / 'hduce.sqlite3'}"


@pytest.fixture
async def migrated_url(sql_database_url: str) -> str:
    await upgrade_database(sql_database_url)
    return sql_database_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url, pool_size=POOL_SIZE, max_overflow=10)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


@pytest.fixture
def outbox(engine: AsyncEngine) -> SqlOutbox:
    return SqlOutbox(engine)
