"""Run the worker until SIGINT/SIGTERM (or ``stop``).

The API processes only write (events land in the outbox); any number of workers
relay the outbox, consume events and run the sweeps. They can run side by side:
the relay claims rows with SKIP LOCKED (PostgreSQL) or a lease (SQLite), consumers
are idempotent by event id, and reminders are claimed under their ids.

With ``HDUCE_BROKER_URL`` the worker is a FastStream application
(``create_worker_app``) and workers are competing consumers of the broker: one
queue, consumer group or durable consumer per handler, shared by all of them.
Without it, each worker relays into its own in-process bus.

With ``HDUCE_WORKER_HTTP_PORT`` the worker also answers /metrics, /health and
/health/ready there (``hduce.entrypoints.worker.http``), from before it connects
to the broker until it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog
from dishka import AsyncContainer

from hduce.bootstrap.background import background_services
from hduce.bootstrap.container import build_container
from hduce.bootstrap.messaging import consuming_broker
from hduce.bootstrap.settings import Settings, SettingsError
from hduce.entrypoints.heap import trimmed_heap
from hduce.entrypoints.worker.http import worker_endpoints

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    container = build_container(settings)
    try:
        async with worker_endpoints(container, settings):
            await _run(container, settings, stop)
    except SettingsError as error:  # its port is taken
        log.error("worker could not start", error=str(error))
        raise SystemExit(2) from error
    finally:
        await container.close()


async def _run(container: AsyncContainer, settings: Settings, stop: asyncio.Event) -> None:
    broker = await consuming_broker(container, settings)
    if broker is None:
        async with contextlib.AsyncExitStack() as services:
            for service in background_services(container, settings, mode="worker"):
                await services.enter_async_context(service())
            log.info("worker started", broker="in-process")
            async with trimmed_heap():
                await stop.wait()
            log.info("worker stopping")
        return
    # Imported with a broker only: FastStream stays out of an in-process worker.
    from hduce.entrypoints.worker.app import create_worker_app

    app = create_worker_app(container, settings, broker)
    try:
        try:
            await app.start()
        except Exception as error:
            # Most often the broker does not answer: one line saying so, not a
            # traceback, and a failing exit status for the supervisor to act on.
            log.error(
                "worker could not start",
                broker=settings.summary()["broker"],
                error=f"{type(error).__name__}: {error}",
            )
            raise SystemExit(1) from error
        log.info("worker started", broker=settings.broker and settings.broker.kind)
        async with trimmed_heap():
            await stop.wait()
        log.info("worker stopping")
    finally:
        await app.stop()
