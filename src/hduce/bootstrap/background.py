"""Long-running work of a process (outbox relay, sweeps) as start/stop context managers.

Each service is a factory of an async context manager: entering starts an asyncio
task, leaving cancels it and waits, so the HTTP app's lifespan (or the worker's)
owns their lifetime and nothing outlives the process's shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog

from hduce.bootstrap.outages import outage_of

log = structlog.get_logger(__name__)

BackgroundService = Callable[[], AbstractAsyncContextManager[None]]


def task_service(name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> BackgroundService:
    """A service that runs ``run()`` as a task until shutdown."""

    @contextlib.asynccontextmanager
    async def service() -> AsyncIterator[None]:
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
