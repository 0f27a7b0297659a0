"""The admin feature (``hduce.application.admin``): the audit trail and the clinic's
statistics and the CSV reports (``ClinicStatistics`` comes with the persistence provider)."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.admin.audit import ListAuditEntries
from hduce.application.admin.reports import ExportAppointments, ExportStatistics
from hduce.application.admin.statistics import GetClinicStats, StatsPolicy
from hduce.application.ports import UnitOfWorkFactory
from hduce.bootstrap.settings import Settings


class AdminProvider(Provider):
    scope = Scope.APP

    @provide
    def stats_policy(self, settings: Settings) -> StatsPolicy:
        # Days of the dashboard are the clinic's days: HDUCE_DEFAULT_TIMEZONE.
        return StatsPolicy(timezone=settings.default_timezone)

    get_clinic_stats = provide(GetClinicStats)
    list_audit_entries = provide(ListAuditEntries)
    export_statistics = provide(ExportStatistics)

    @provide
    def export_appointments(self, uow_factory: UnitOfWorkFactory) -> ExportAppointments:
        return ExportAppointments(uow_factory)
