"""The composition root: which adapter serves which port, decided once, here.

Providers are grouped by role (configuration, persistence, messaging, delivery,
use cases) so tests can swap one group — e.g. ``InMemoryPersistenceProvider`` for
``SqlPersistenceProvider`` — and keep the rest. The HTTP app and the worker get
their container from ``build_container``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide
from dishka.integrations.litestar import LitestarProvider
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.clock import SystemClock, UuidV7Generator
from hduce.adapters.memory.bus import InProcessEventBus
from hduce.adapters.memory.cache import InMemoryCache, InMemoryRateLimiter
from hduce.adapters.memory.messages import LogEmailSender, LogSmsSender
from hduce.adapters.memory.outbox import InMemoryOutbox
from hduce.adapters.memory.realtime import InMemoryRealtimeFanout
from hduce.adapters.memory.store import InMemoryStore
from hduce.adapters.memory.uow import InMemoryUnitOfWorkFactory
from hduce.adapters.sql.engine import create_engine
from hduce.adapters.sql.outbox import SqlOutbox
from hduce.adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from hduce.application.appointments import (
    ApproveAppointment,
    BookAppointment,
    CancelAppointment,
    CheckInAppointment,
    CompleteAppointment,
    EnterInError,
    ExpireOverdueAppointments,
    GetAppointment,
    ListAppointments,
    MarkNoShow,
    RejectAppointment,
    RescheduleAppointment,
)
from hduce.application.availability import (
    AddExtraHours,
    AddTimeOff,
    GetWorkingHours,
    ListFreeSlots,
    SetWorkingHours,
)
from hduce.application.notifications import (
    DeliverPendingNotifications,
    HandleEventNotifications,
    NotificationInbox,
)
from hduce.application.outbox_relay import OutboxRelay, RelaySettings
from hduce.application.ports import (
    Cache,
    Clock,
    EmailSender,
    EventPublisher,
    IdGenerator,
    Outbox,
    RateLimiter,
    ReadinessProbes,
    RealtimeFanout,
    SmsSender,
    UnitOfWorkFactory,
)
from hduce.application.reminders import SendDueReminders
from hduce.bootstrap.background import BackgroundService, periodic_service, task_service
from hduce.bootstrap.settings import Settings
from hduce.domain.events import DomainEvent
from hduce.domain.scheduling import SchedulingPolicy

ProcessMode = Literal["all", "api", "worker"]
"""all = HTTP + relay + consumers + sweeps; api = HTTP (writes and publishes via the
outbox); worker = consumers + sweeps, no HTTP."""


class DatabaseProbe:
    """Readiness: the database answers a trivial query."""

    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))


class ConfigProvider(Provider):
    scope = Scope.APP
    settings = from_context(provides=Settings, scope=Scope.APP)

    @provide
    def scheduling_policy(self) -> SchedulingPolicy:
        return SchedulingPolicy()

    @provide
    def relay_settings(self, settings: Settings) -> RelaySettings:
        return RelaySettings(poll_interval=settings.outbox_poll_interval)

    clock = provide(SystemClock, provides=Clock)
    ids = provide(UuidV7Generator, provides=IdGenerator)


class SqlPersistenceProvider(Provider):
    """PostgreSQL or SQLite, by ``HDUCE_DATABASE_URL``."""

    scope = Scope.APP

    @provide
    async def engine(self, settings: Settings) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(settings.database_url)
        yield engine
        await engine.dispose()

    @provide
    def unit_of_work_factory(self, engine: AsyncEngine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(engine)

    @provide
    def outbox(self, engine: AsyncEngine) -> Outbox:
        return SqlOutbox(engine)

    @provide
    def readiness(self, engine: AsyncEngine) -> ReadinessProbes:
        return ReadinessProbes((DatabaseProbe(engine),))


class InMemoryPersistenceProvider(Provider):
    """Everything in process memory: unit tests and throwaway demos."""

    scope = Scope.APP
    store = provide(InMemoryStore)

    @provide
    def unit_of_work_factory(
        self, store: InMemoryStore, clock: Clock, ids: IdGenerator
    ) -> UnitOfWorkFactory:
        return InMemoryUnitOfWorkFactory(store, clock, ids)

    @provide
    def outbox(self, store: InMemoryStore, clock: Clock) -> Outbox:
        return InMemoryOutbox(store, clock)


class MessagingProvider(Provider):
    """Event bus, live fan-out, cache and rate limits: in process on the embedded default."""

    scope = Scope.APP

    @provide
    def in_process_bus(self) -> InProcessEventBus:
        # Errors propagate to the relay so the event stays in the outbox and is
        # retried; handlers are idempotent by event id, so a retry is harmless.
        return InProcessEventBus(propagate_errors=True)

    @provide
    def publisher(self, bus: InProcessEventBus) -> EventPublisher:
        return bus

    @provide
    def realtime(self) -> InMemoryRealtimeFanout:
        return InMemoryRealtimeFanout()

    @provide
    def realtime_port(self, fanout: InMemoryRealtimeFanout) -> RealtimeFanout:
        return fanout

    @provide
    def cache(self, clock: Clock) -> Cache:
        return InMemoryCache(clock)

    @provide
    def rate_limiter(self, clock: Clock) -> RateLimiter:
        return InMemoryRateLimiter(clock)


class DeliveryProvider(Provider):
    """Email and SMS: log sinks on the embedded default."""

    scope = Scope.APP

    @provide
    def email(self, clock: Clock) -> EmailSender:
        return LogEmailSender(clock=clock)

    @provide
    def sms(self, clock: Clock) -> SmsSender:
        return LogSmsSender(clock=clock)


class UseCaseProvider(Provider):
    scope = Scope.APP

    book = provide(BookAppointment)
    approve = provide(ApproveAppointment)
    reject = provide(RejectAppointment)
    cancel = provide(CancelAppointment)
    check_in = provide(CheckInAppointment)
    complete = provide(CompleteAppointment)
    no_show = provide(MarkNoShow)
    enter_in_error = provide(EnterInError)
    reschedule = provide(RescheduleAppointment)
    expire_overdue = provide(ExpireOverdueAppointments)
    get_appointment = provide(GetAppointment)
    list_appointments = provide(ListAppointments)
    get_working_hours = provide(GetWorkingHours)
    set_working_hours = provide(SetWorkingHours)
    add_time_off = provide(AddTimeOff)
    add_extra_hours = provide(AddExtraHours)
    list_free_slots = provide(ListFreeSlots)
    handle_event_notifications = provide(HandleEventNotifications)

    @provide
    def deliver_notifications(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, email: EmailSender, sms: SmsSender
    ) -> DeliverPendingNotifications:
        return DeliverPendingNotifications(uow_factory, clock, email, sms)

    notification_inbox = provide(NotificationInbox)
    outbox_relay = provide(OutboxRelay)

    @provide
    def send_due_reminders(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, settings: Settings
    ) -> SendDueReminders:
        return SendDueReminders(uow_factory, clock, settings.reminder_offsets or ())


def providers(settings: Settings) -> list[Provider]:
    """The production set for these settings (tests replace single groups)."""
    return [
        ConfigProvider(),
        SqlPersistenceProvider(),
        MessagingProvider(),
        DeliveryProvider(),
        UseCaseProvider(),
    ]


def build_container(
    settings: Settings, *, mode: ProcessMode = "all", extra: Sequence[Provider] = ()
) -> AsyncContainer:
    return make_async_container(
        LitestarProvider(), *providers(settings), *extra, context={Settings: settings}
    )


def background_services(
    container: AsyncContainer, settings: Settings, *, mode: ProcessMode = "all"
) -> list[BackgroundService]:
    """What runs beside the HTTP server in this process.

    ``api``: nothing — a separate worker relays and consumes.
    ``all``/``worker``: the relay into the bus, the consumers, and the sweeps.
    """
    if mode == "api":
        return []

    async def run_relay() -> None:
        relay = await container.get(OutboxRelay)
        await relay.run()

    @contextlib.asynccontextmanager
    async def in_process_consumers() -> AsyncIterator[None]:
        bus = await container.get(InProcessEventBus)
        notify = await container.get(HandleEventNotifications)

        async def on_event(event: DomainEvent) -> None:
            await notify(event)

        unsubscribe = bus.subscribe(on_event)
        try:
            yield
        finally:
            unsubscribe()

    async def deliver_notifications() -> None:
        await (await container.get(DeliverPendingNotifications))()

    async def expire_overdue() -> None:
        await (await container.get(ExpireOverdueAppointments))()

    async def send_reminders() -> None:
        await (await container.get(SendDueReminders))()

    return [
        in_process_consumers,
        task_service("outbox-relay", run_relay),
        periodic_service("notification-delivery", 5.0, deliver_notifications),
        periodic_service("overdue-appointments", 60.0, expire_overdue),
        periodic_service("reminders", 60.0, send_reminders),
    ]
