"""Admin read-side wiring: the statistics adapter and the admin use cases (APP scoped).

``ClinicStatistics`` is the SQL implementation when the container provides an
``AsyncEngine`` (every deployment), else the in-memory one over the ``InMemoryStore``
(``InMemoryPersistenceProvider``). Needs from the container: ``Settings`` (context),
``Clock``, ``UnitOfWorkFactory`` and the engine or the store.
"""

from __future__ import annotations

from dishka import Has, Provider, Scope, provide
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.memory.statistics import InMemoryClinicStatistics
from hduce.adapters.memory.store import InMemoryStore
from hduce.adapters.sql.statistics import SqlClinicStatistics
from hduce.application.admin.audit import ListAuditEntries
from hduce.application.admin.statistics import GetClinicStats, StatsPolicy
from hduce.application.ports import ClinicStatistics
from hduce.bootstrap.settings import Settings


class AdminProvider(Provider):
    scope = Scope.APP

    @provide(when=Has(AsyncEngine))
    def sql_statistics(self, engine: AsyncEngine) -> ClinicStatistics:
        return SqlClinicStatistics(engine)

    @provide(when=~Has(AsyncEngine))
    def memory_statistics(self, store: InMemoryStore) -> ClinicStatistics:
        return InMemoryClinicStatistics(store)

    @provide
    def stats_policy(self, settings: Settings) -> StatsPolicy:
        # Days of the dashboard are the clinic's days: HDUCE_DEFAULT_TIMEZONE.
        return StatsPolicy(timezone=settings.default_timezone)

    get_clinic_stats = provide(GetClinicStats)
    list_audit_entries = provide(ListAuditEntries)
