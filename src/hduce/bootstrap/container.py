"""The composition root: which adapter serves which port, decided once, here.

Providers are grouped by role (configuration, persistence, messaging, delivery,
use cases) so tests can swap one group — e.g. ``InMemoryPersistenceProvider`` for
``SqlPersistenceProvider`` — and keep the rest. The HTTP app and the worker get
their container from ``build_container``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from typing import Literal

import structlog
from dishka import AsyncContainer, Has, Provider, Scope, from_context, make_async_container, provide
from dishka.integrations.litestar import LitestarProvider
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.clock import SystemClock, UuidV7Generator
from hduce.adapters.email.smtp import SmtpEmailSender
from hduce.adapters.memory.bus import InProcessEventBus
from hduce.adapters.memory.cache import InMemoryCache, InMemoryRateLimiter
from hduce.adapters.memory.messages import DEFAULT_MAIL_DIR, LogEmailSender, LogSmsSender
from hduce.adapters.memory.outbox import InMemoryOutbox
from hduce.adapters.memory.realtime import InMemoryRealtimeFanout
from hduce.adapters.memory.store import InMemoryStore
from hduce.adapters.memory.uow import InMemoryUnitOfWorkFactory
from hduce.adapters.redis.cache import RedisCache
from hduce.adapters.redis.client import RedisReadiness, create_redis
from hduce.adapters.redis.rate_limit import RedisRateLimiter
from hduce.adapters.sms.http import HttpSmsSender
from hduce.adapters.sql.engine import create_engine
from hduce.adapters.sql.outbox import SqlOutbox
from hduce.adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from hduce.application.appointments.lifecycle import (
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
from hduce.application.availability.free_slots import ListFreeSlots
from hduce.application.availability.hours import (
    AddExtraHours,
    AddTimeOff,
    GetWorkingHours,
    SetWorkingHours,
)
from hduce.application.demo import SeedDemo
from hduce.application.identity.sessions import PurgeExpiredRefreshTokens
from hduce.application.messaging.housekeeping import PurgeExpiredRecords
from hduce.application.messaging.outbox_relay import OutboxRelay, RelaySettings
from hduce.application.messaging.reminders import SendDueReminders
from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.notifications.inbox import NotificationInbox
from hduce.application.ports import (
    Cache,
    Clock,
    EmailSender,
    EventPublisher,
    IdGenerator,
    Outbox,
    PasswordHasher,
    RateLimiter,
    ReadinessProbes,
    RealtimeFanout,
    SmsSender,
    UnitOfWorkFactory,
)
from hduce.bootstrap.admin_provider import AdminProvider
from hduce.bootstrap.appointments_provider import AppointmentsHttpProvider
from hduce.bootstrap.background import BackgroundService, periodic_service, task_service
from hduce.bootstrap.clinic_provider import ClinicProvider
from hduce.bootstrap.identity_provider import identity_providers
from hduce.bootstrap.metrics import (
    EVENTS_CONSUMED,
    MeteredEmailSender,
    MeteredPublisher,
    MeteredSmsSender,
    record_outbox_stats,
)
from hduce.bootstrap.settings import Settings
from hduce.domain.events import DomainEvent
from hduce.domain.scheduling import SchedulingPolicy

log = structlog.get_logger(__name__)

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
        return RelaySettings(poll_interval=settings.outbox.poll_interval)

    clock = provide(SystemClock, provides=Clock)
    ids = provide(UuidV7Generator, provides=IdGenerator)


class SqlPersistenceProvider(Provider):
    """PostgreSQL or SQLite, by ``HDUCE_DATABASE_URL``."""

    scope = Scope.APP

    @provide
    async def engine(self, settings: Settings) -> AsyncIterator[AsyncEngine]:
        database = settings.database
        engine = create_engine(
            database.url,
            pool_size=database.pool_size,
            max_overflow=database.max_overflow,
            pool_timeout=database.pool_timeout,
        )
        yield engine
        await engine.dispose()

    @provide
    def unit_of_work_factory(self, engine: AsyncEngine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(engine)

    @provide
    def outbox(self, engine: AsyncEngine) -> Outbox:
        return SqlOutbox(engine)

    @provide
    def database_probe(self, engine: AsyncEngine) -> DatabaseProbe:
        return DatabaseProbe(engine)


class InMemoryPersistenceProvider(Provider):
    """Everything in process memory: unit tests and throwaway demos."""

    scope = Scope.APP

    @provide
    def store(self) -> InMemoryStore:
        return InMemoryStore()

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
        return MeteredPublisher(bus)

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


class RedisProvider(Provider):
    """Redis for cache, rate limits and the token denylist (add only with a Redis URL).

    Its ``Cache`` and ``RateLimiter`` override in-memory ones provided earlier.
    """

    scope = Scope.APP

    @provide
    async def redis(self, settings: Settings) -> AsyncIterator[Redis]:
        if settings.redis is None:
            raise ValueError("RedisProvider needs HDUCE_REDIS_URL")
        client = create_redis(
            settings.redis.url,
            max_connections=settings.redis.max_connections,
            pool_timeout=settings.redis.pool_timeout,
        )
        try:
            yield client
        finally:
            await client.aclose()

    @provide(override=True)
    def cache(self, redis: Redis) -> Cache:
        return RedisCache(redis)

    @provide(override=True)
    def rate_limiter(self, redis: Redis) -> RateLimiter:
        return RedisRateLimiter(redis)


class ReadinessProvider(Provider):
    """What ``GET /health/ready`` checks: the database, and Redis when configured."""

    scope = Scope.APP

    @provide(when=Has(Redis))
    def with_redis(self, database: DatabaseProbe, redis: Redis) -> ReadinessProbes:
        return ReadinessProbes((database, RedisReadiness(redis)))

    @provide(when=~Has(Redis))
    def database_only(self, database: DatabaseProbe) -> ReadinessProbes:
        return ReadinessProbes((database,))


class DeliveryProvider(Provider):
    """Email over SMTP when ``HDUCE_SMTP_URL`` is set, SMS over the HTTP provider when
    ``HDUCE_SMS_*`` are; log sinks otherwise (the embedded default)."""

    scope = Scope.APP

    @provide
    def email(self, settings: Settings, clock: Clock) -> EmailSender:
        delivery = settings.delivery
        if delivery.smtp is not None:
            return MeteredEmailSender(SmtpEmailSender(delivery.smtp, delivery.email_from))
        return MeteredEmailSender(
            LogEmailSender(from_address=delivery.email_from, clock=clock, mail_dir=DEFAULT_MAIL_DIR)
        )

    @provide
    async def sms(self, settings: Settings, clock: Clock) -> AsyncIterator[SmsSender]:
        if settings.delivery.sms is None:
            yield MeteredSmsSender(LogSmsSender(clock=clock))
            return
        sender = HttpSmsSender(settings.delivery.sms)
        try:
            yield MeteredSmsSender(sender)
        finally:
            await sender.aclose()


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
    def purge_expired_records(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox, clock: Clock
    ) -> PurgeExpiredRecords:
        return PurgeExpiredRecords(uow_factory, outbox, clock)

    @provide
    def seed_demo(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        hasher: PasswordHasher,
        policy: SchedulingPolicy,
    ) -> SeedDemo:
        return SeedDemo(uow_factory, clock, ids, hasher, policy)

    @provide
    def send_due_reminders(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, settings: Settings
    ) -> SendDueReminders:
        return SendDueReminders(uow_factory, clock, settings.reminders.offsets or ())


def providers(settings: Settings) -> list[Provider]:
    """The production set for these settings (tests replace single groups)."""
    return [
        ConfigProvider(),
        SqlPersistenceProvider(),
        MessagingProvider(),
        *([RedisProvider()] if settings.redis is not None else []),
        ReadinessProvider(),
        DeliveryProvider(),
        *identity_providers(settings),
        UseCaseProvider(),
        AppointmentsHttpProvider(),
        ClinicProvider(),
        AdminProvider(),
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

    async def outbox_metrics() -> None:
        record_outbox_stats(await (await container.get(OutboxRelay)).stats())

    metrics = periodic_service("outbox-metrics", 5.0, outbox_metrics)
    if mode == "api":
        return [metrics]

    async def run_relay() -> None:
        relay = await container.get(OutboxRelay)
        await relay.run()

    @contextlib.asynccontextmanager
    async def in_process_consumers() -> AsyncIterator[None]:
        bus = await container.get(InProcessEventBus)
        notify = await container.get(HandleEventNotifications)

        async def on_event(event: DomainEvent) -> None:
            try:
                stored = await notify(event)
            except Exception:
                EVENTS_CONSUMED.labels(consumer="notifications", outcome="failed").inc()
                raise
            EVENTS_CONSUMED.labels(consumer="notifications", outcome="processed").inc()
            log.debug("event handled", event_type=event.type, notifications=len(stored))

        unsubscribe = bus.subscribe(on_event)
        try:
            yield
        finally:
            unsubscribe()

    async def deliver_notifications() -> None:
        await (await container.get(DeliverPendingNotifications))()

    async def expire_overdue() -> None:
        await (await container.get(ExpireOverdueAppointments))()

    async def purge_expired() -> None:
        report = await (await container.get(PurgeExpiredRecords))()
        refresh_tokens = await (await container.get(PurgeExpiredRefreshTokens))()
        log.info("purged expired records", refresh_tokens=refresh_tokens, **asdict(report))

    async def send_reminders() -> None:
        await (await container.get(SendDueReminders))()

    return [
        in_process_consumers,
        task_service("outbox-relay", run_relay),
        periodic_service("notification-delivery", 5.0, deliver_notifications),
        periodic_service("overdue-appointments", 60.0, expire_overdue),
        periodic_service("reminders", 60.0, send_reminders),
        periodic_service("purge-expired-records", 3600.0, purge_expired),
        metrics,
    ]
