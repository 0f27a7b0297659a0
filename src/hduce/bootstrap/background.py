"""Long-running work of a process (outbox relay, consumers, sweeps) as start/stop
context managers, and which of them a process runs (``background_services``).

Each service is a factory of an async context manager: entering starts an asyncio
task, leaving cancels it and waits, so the HTTP app's lifespan (or the worker's)
owns their lifetime and nothing outlives the process's shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from typing import Any, Literal

import structlog
from dishka import AsyncContainer

from hduce.adapters.memory.bus import InProcessEventBus
from hduce.adapters.memory.outbox import InProcessOutboxSignal
from hduce.adapters.sql.outbox_listener import PostgresOutboxListener
from hduce.application.appointments.expiry import ExpireOverdueAppointments
from hduce.application.identity.devices import ForgetEndedSessions
from hduce.application.identity.email_links import PurgeExpiredAccountTokens
from hduce.application.identity.sessions import PurgeExpiredRefreshTokens
from hduce.application.identity.two_factor.challenge import PurgeEndedSecondFactorSessions
from hduce.application.messaging.handlers import EventConsumer, event_routes
from hduce.application.messaging.housekeeping import PurgeExpiredRecords
from hduce.application.messaging.outbox_relay import OutboxRelay
from hduce.application.messaging.reminders import SendDueReminders
from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.ports import DeviceInbox, EventHandler
from hduce.application.tracing import tracing
from hduce.application.waitlist.offers import ExpireWaitlistOffers
from hduce.bootstrap.messaging import consuming_broker
from hduce.bootstrap.metrics import (
    PrometheusConsumerMetrics,
    initialise_metrics,
    record_outbox_stats,
)
from hduce.bootstrap.outages import outage_of
from hduce.bootstrap.settings import Settings
from hduce.domain.events import DomainEvent

log = structlog.get_logger(__name__)

BackgroundService = Callable[[], AbstractAsyncContextManager[None]]

ProcessMode = Literal["all", "api", "worker"]
"""all = HTTP + relay + consumers + sweeps; api = HTTP (writes and publishes via the
outbox); worker = consumers + sweeps, no HTTP."""


def task_service(name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> BackgroundService:
    """A service that runs ``run()`` as a task until shutdown."""

    @contextlib.asynccontextmanager
    async def service() -> AsyncIterator[None]:
        with tracing().untraced():  # see ``Tracing.untraced``: its polls are no traces
            task = asyncio.create_task(run(), name=name)
        log.info("background service started", service=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log.info("background service stopped", service=name)

    return service


def periodic_service(
    name: str,
    interval_seconds: float,
    tick: Callable[[], Awaitable[object]],
    *,
    shutdown_grace_seconds: float = 10.0,
) -> BackgroundService:
    """A service that calls ``tick()`` every ``interval_seconds``; a failing tick is
    logged and retried on the next one, never ending the loop.

    At shutdown the loop stops between ticks: a tick in flight may finish (up to
    ``shutdown_grace_seconds``) instead of being cancelled mid-query, which would
    leave database driver threads answering an event loop that is closing.
    """

    @contextlib.asynccontextmanager
    async def service() -> AsyncIterator[None]:
        stop = asyncio.Event()

        async def loop() -> None:
            while not stop.is_set():
                try:
                    await tick()
                except Exception as error:
                    _log_failed_tick(name, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval_seconds)

        with tracing().untraced():
            task = asyncio.create_task(loop(), name=name)
        log.info("background service started", service=name)
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, timeout=shutdown_grace_seconds)
            except TimeoutError:
                log.warning("periodic task did not stop in time; cancelled", service=name)
            log.info("background service stopped", service=name)

    return service


def _log_failed_tick(name: str, error: Exception) -> None:
    outage = outage_of(error)
    if outage is None:
        log.exception("periodic task failed", service=name)
        return
    # An exhausted pool or a database restart is not a bug: one line, no traceback.
    log.warning(
        "periodic task skipped: service unavailable",
        service=name,
        dependency=outage.service,
        outage=outage.kind,
        cause=type(outage.error).__name__,
    )


def device_gateway(container: AsyncContainer, settings: Settings) -> BackgroundService:
    """The MQTT subscribers of the check-in devices (``HDUCE_MQTT_URL``): a FastStream
    MQTT broker, started and stopped with the process (docs/devices.md)."""

    @contextlib.asynccontextmanager
    async def service() -> AsyncIterator[None]:
        # Imported with HDUCE_MQTT_URL only: FastStream's MQTT client stays out otherwise.
        from hduce.adapters.mqtt.gateway import MqttDeviceGateway

        assert settings.devices.mqtt_url is not None  # noqa: S101 (only chosen with one)
        gateway = MqttDeviceGateway(
            settings.devices.mqtt_url,
            prefix=settings.devices.topic_prefix,
            inbox=await container.get(DeviceInbox),
        )
        await gateway.start()
        log.info("device gateway started", topics=gateway.topics)
        try:
            yield
        finally:
            await gateway.stop()
            log.info("device gateway stopped")

    return service


def background_services(
    container: AsyncContainer,
    settings: Settings,
    *,
    mode: ProcessMode = "all",
    consumers: bool = True,
) -> list[BackgroundService]:
    """What runs beside the HTTP server in this process.

    ``api``: only the outbox-metrics ticker — a separate worker relays and consumes.
    ``all``/``worker``: the consumers, the relay, and the sweeps. The consumers are
    the broker's subscribers when ``HDUCE_BROKER_URL`` is set (the service starts
    the broker and stops it last, after the relay), else the handlers subscribed to
    the in-process bus. ``consumers=False`` leaves them out: the caller runs them
    (the worker's FastStream application starts and stops the broker itself).
    """

    async def outbox_metrics() -> None:
        record_outbox_stats(await (await container.get(OutboxRelay)).stats())

    metrics = periodic_service("outbox-metrics", 5.0, outbox_metrics)
    if mode == "api":
        initialise_metrics(http=True)
        return [metrics]
    initialise_metrics(
        http=mode == "all",
        consumers={
            route.handler.consumer: tuple(sorted(route.event_types)) for route in event_routes()
        },
    )
    consumer_metrics = PrometheusConsumerMetrics()

    async def run_relay() -> None:
        relay = await container.get(OutboxRelay)
        # Woken by commits (this process's, and others' through the listener below);
        # its poll interval is only the safety net.
        (await container.get(InProcessOutboxSignal)).listen(relay.wake)
        await relay.run()

    async def listen_for_commits() -> None:
        await (await container.get(PostgresOutboxListener)).run()

    def metered(handler: EventConsumer) -> EventHandler:
        async def on_event(event: DomainEvent) -> None:
            consumer_metrics.started(handler.consumer, event)
            try:
                await handler(event)
            except Exception:
                consumer_metrics.failed(handler.consumer, event)
                raise
            consumer_metrics.processed(handler.consumer, event)
            log.debug("event handled", consumer=handler.consumer, event_type=event.type)

        return on_event

    @contextlib.asynccontextmanager
    async def in_process_consumers() -> AsyncIterator[None]:
        # Each handler of the routing table, subscribed to the events it reacts to.
        bus = await container.get(InProcessEventBus)
        unsubscribes = [
            bus.subscribe(metered(await container.get(route.handler)), *route.event_types)
            for route in event_routes()
        ]
        try:
            yield
        finally:
            for unsubscribe in unsubscribes:
                unsubscribe()

    @contextlib.asynccontextmanager
    async def broker_consumers() -> AsyncIterator[None]:
        broker = await consuming_broker(container, settings)
        assert broker is not None  # noqa: S101 (only chosen with a broker)
        await broker.start()
        log.info("broker consumers started", broker=settings.broker and settings.broker.kind)
        try:
            yield
        finally:
            # Messages being handled finish (up to the broker's graceful timeout).
            await broker.stop()
            log.info("broker consumers stopped")

    async def deliver_notifications() -> None:
        await (await container.get(DeliverPendingNotifications)).drain()

    async def expire_overdue() -> None:
        await (await container.get(ExpireOverdueAppointments))()

    async def purge_expired() -> None:
        report = await (await container.get(PurgeExpiredRecords))()
        refresh_tokens = await (await container.get(PurgeExpiredRefreshTokens))()
        second_factor_sessions = await (await container.get(PurgeEndedSecondFactorSessions))()
        account_tokens = await (await container.get(PurgeExpiredAccountTokens))()
        sessions = await (await container.get(ForgetEndedSessions))()
        log.info(
            "purged expired records",
            refresh_tokens=refresh_tokens,
            account_tokens=account_tokens,
            sessions=sessions,
            second_factor_sessions=second_factor_sessions,
            **asdict(report),
        )

    async def expire_waitlist_offers() -> None:
        await (await container.get(ExpireWaitlistOffers))()

    async def send_reminders() -> None:
        await (await container.get(SendDueReminders))()

    chosen_consumers = broker_consumers if settings.broker is not None else in_process_consumers
    return [
        *([chosen_consumers] if consumers else []),
        *([device_gateway(container, settings)] if settings.devices.mqtt_url else []),
        task_service("outbox-relay", run_relay),
        task_service("outbox-listener", listen_for_commits),
        periodic_service("notification-delivery", 5.0, deliver_notifications),
        periodic_service("overdue-appointments", 60.0, expire_overdue),
        periodic_service("reminders", 60.0, send_reminders),
        # Offers are held for minutes: a quarter minute late at most.
        periodic_service("waitlist-offers", 15.0, expire_waitlist_offers),
        periodic_service("purge-expired-records", 3600.0, purge_expired),
        metrics,
    ]
