"""Run the background services of the ``worker`` mode until SIGINT/SIGTERM.

The API processes only write (events land in the outbox); any number of workers
relay the outbox, consume events and run the sweeps. They can run side by side:
the relay claims rows with SKIP LOCKED (PostgreSQL) or a lease (SQLite), and
consumers and reminders are idempotent by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog

from hduce.bootstrap.background import background_services
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    if settings.broker is not None:
        log.warning("HDUCE_BROKER_URL is set but not used yet: the worker relays in process")
    container = build_container(settings)
    try:
        async with contextlib.AsyncExitStack() as services:
            for service in background_services(container, settings, mode="worker"):
                await services.enter_async_context(service())
            log.info("worker started")
            await stop.wait()
            log.info("worker stopping")
    finally:
        await container.close()
