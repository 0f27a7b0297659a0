"""The statistics adapter comes with the persistence: the SQL one beside a database
engine, the in-memory one over the ``InMemoryStore``; ``AdminProvider`` wires the admin
use cases over either."""

from __future__ import annotations

from pathlib import Path

from dishka import make_async_container

from hduce.adapters.memory.statistics import InMemoryClinicStatistics
from hduce.adapters.sql.statistics import SqlClinicStatistics
from hduce.application.admin.audit import ListAuditEntries
from hduce.application.admin.statistics import GetClinicStats, StatsPolicy
from hduce.application.ports import ClinicStatistics
from hduce.bootstrap.container import build_container
from hduce.bootstrap.providers.admin import AdminProvider
from hduce.bootstrap.providers.config import ConfigProvider
from hduce.bootstrap.providers.persistence import InMemoryPersistenceProvider
from hduce.bootstrap.settings import Settings


def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
            "HDUCE_DEFAULT_TIMEZONE": "America/Mexico_City",
        }
    )


async def test_with_a_database_engine_statistics_are_sql(tmp_path: Path) -> None:
    config = settings(tmp_path)
    container = build_container(config)
    try:
        assert isinstance(await container.get(ClinicStatistics), SqlClinicStatistics)
        assert (await container.get(StatsPolicy)).timezone == "America/Mexico_City"
        assert isinstance(await container.get(GetClinicStats), GetClinicStats)
        assert isinstance(await container.get(ListAuditEntries), ListAuditEntries)
    finally:
        await container.close()


async def test_without_one_they_are_computed_over_the_in_memory_store(tmp_path: Path) -> None:
    config = settings(tmp_path)
    container = make_async_container(
        ConfigProvider(),
        InMemoryPersistenceProvider(),
        AdminProvider(),
        context={Settings: config},
    )
    try:
        assert isinstance(await container.get(ClinicStatistics), InMemoryClinicStatistics)
        assert isinstance(await container.get(GetClinicStats), GetClinicStats)
    finally:
        await container.close()
