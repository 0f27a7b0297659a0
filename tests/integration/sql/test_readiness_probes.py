"""The SQL readiness probes on PostgreSQL and SQLite: ``migrations`` is up only when
the database has every migration of the code (or a newer release's), and the probes
take one pooled connection at a time."""

from __future__ import annotations

import asyncio

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hduce.adapters.sql import create_engine
from hduce.adapters.sql.migrations import MIGRATIONS_DIR, VERSION_TABLE, upgrade_database
from hduce.adapters.sql.readiness import DatabaseProbe, MigrationsProbe, SchemaBehindCode

HEAD = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
PREVIOUS = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(HEAD).down_revision  # type: ignore[union-attr]


async def test_an_empty_or_older_database_is_behind_until_upgraded(sql_database_url: str) -> None:
    engine = create_engine(sql_database_url, pool_size=1, max_overflow=0)
    try:
        database = DatabaseProbe(engine)
        probe = MigrationsProbe(engine, database)
        with pytest.raises(SchemaBehindCode):
            await probe.check()  # empty: no version table at all
        assert isinstance(PREVIOUS, str)
        await upgrade_database(sql_database_url, PREVIOUS)
        with pytest.raises(SchemaBehindCode, match=PREVIOUS):
            await probe.check()

        await upgrade_database(sql_database_url)

        await probe.check()
        # With one connection in the pool, both probes at once wait for each other.
        await asyncio.gather(database.check(), probe.check())
    finally:
        await engine.dispose()


async def test_a_newer_releases_revision_keeps_the_process_ready(migrated_url: str) -> None:
    engine = create_engine(migrated_url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))  # noqa: S608

        await MigrationsProbe(engine, DatabaseProbe(engine)).check()
    finally:
        await engine.dispose()
