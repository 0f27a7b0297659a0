"""``AdminProvider`` picks the statistics adapter by what the container has: the SQL one
beside a database engine, the in-memory one beside an ``InMemoryStore``."""

from __future__ import annotations

from pathlib import Path

from dishka import Provider, Scope, make_async_container, provide

from hduce.adapters.memory.statistics import InMemoryClinicStatistics
from hduce.adapters.memory.store import InMemoryStore
from hduce.adapters.memory.uow import InMemoryUnitOfWorkFactory
from hduce.adapters.sql.statistics import SqlClinicStatistics
from hduce.application.admin.audit import ListAuditEntries
from hduce.application.admin.statistics import GetClinicStats, StatsPolicy
from hduce.application.ports import ClinicStatistics, Clock, UnitOfWorkFactory
from hduce.bootstrap.admin_provider import AdminProvider
from hduce.bootstrap.container import ConfigProvider, build_container
from hduce.bootstrap.settings import Settings


class StoreProvider(Provider):
    """The in-memory store and units of work. (``InMemoryPersistenceProvider`` would do,
    but dishka tries to inject ``InMemoryStore``'s ``outbox_retention: int``.)"""

    scope = Scope.APP

    @provide
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    @provide
    def uow_factory(self, store: InMemoryStore, clock: Clock) -> UnitOfWorkFactory:
        return InMemoryUnitOfWorkFactory(store, clock)


def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
            "HDUCE_DEFAULT_TIMEZONE": "America/Mexico_City",
        }
    )


async def test_with_a_database_engine_statistics_are_sql(tmp_path: Path) -> None:
    config = settings(tmp_path)
    container = build_container(config, extra=[AdminProvider()])
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
        StoreProvider(),
        AdminProvider(),
        context={Settings: config},
    )
    try:
        assert isinstance(await container.get(ClinicStatistics), InMemoryClinicStatistics)
        assert isinstance(await container.get(GetClinicStats), GetClinicStats)
    finally:
        await container.close()
