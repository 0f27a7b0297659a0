"""HDUCE's ``GUID`` and ``DateTimeUTC`` store what advanced-alchemy's types of the same
names store: the migrations create the columns with those, and databases hold their
values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from advanced_alchemy.types import GUID as MigrationGuid
from advanced_alchemy.types import DateTimeUTC as MigrationDateTimeUTC
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from hduce.adapters.sql.types import GUID, DateTimeUTC

DIALECTS = [postgresql.asyncpg.dialect(), sqlite.aiosqlite.dialect()]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_guid_binds_reads_and_declares_like_the_migrations_type(dialect: Dialect) -> None:
    value = uuid.uuid4()
    ours, theirs = GUID(), MigrationGuid()
    for given in (value, str(value), value.hex):
        assert ours.process_bind_param(given, dialect) == theirs.process_bind_param(given, dialect)
    stored = value if dialect.name == "postgresql" else value.bytes
    assert ours.process_result_value(stored, dialect) == value
    assert theirs.process_result_value(stored, dialect) == value
    assert repr(ours.load_dialect_impl(dialect)) == repr(theirs.load_dialect_impl(dialect))
    assert ours.process_bind_param(None, dialect) is None


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_datetime_utc_stores_utc_and_reads_aware_like_the_migrations_type(
    dialect: Dialect,
) -> None:
    ours, theirs = DateTimeUTC(), MigrationDateTimeUTC()
    local = datetime(2030, 1, 7, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    assert ours.process_bind_param(local, dialect) == datetime(2030, 1, 7, 8, 30, tzinfo=UTC)
    assert ours.process_bind_param(local, dialect) == theirs.process_bind_param(local, dialect)
    naive = datetime(2030, 1, 7, 8, 30)
    assert ours.process_result_value(naive, dialect) == theirs.process_result_value(naive, dialect)
    assert ours.process_result_value(naive, dialect) == naive.replace(tzinfo=UTC)
    with pytest.raises(TypeError):
        ours.process_bind_param(naive, dialect)
