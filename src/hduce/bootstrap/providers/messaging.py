"""The messaging feature (``hduce.application.messaging``): the outbox relay, the
appointment reminders and the purge of expired records."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.messaging.housekeeping import PurgeExpiredRecords
from hduce.application.messaging.outbox_relay import OutboxRelay, RelaySettings
from hduce.application.messaging.reminders import SendDueReminders
from hduce.application.ports import Clock, Outbox, ReminderMetrics, UnitOfWorkFactory
from hduce.bootstrap.settings import Settings


class MessagingProvider(Provider):
    scope = Scope.APP

    @provide
    def relay_settings(self, settings: Settings) -> RelaySettings:
        return RelaySettings(poll_interval=settings.outbox.poll_interval)

    outbox_relay = provide(OutboxRelay)

    @provide
    def send_due_reminders(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        settings: Settings,
        metrics: ReminderMetrics,
    ) -> SendDueReminders:
        return SendDueReminders(
            uow_factory, clock, settings.reminders.offsets or (), metrics=metrics
        )

    @provide
    def purge_expired_records(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox, clock: Clock
    ) -> PurgeExpiredRecords:
        return PurgeExpiredRecords(uow_factory, outbox, clock)
