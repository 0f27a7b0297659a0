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
    name: str, interval_seconds: float, tick: Callable[[], Awaitable[object]]
) -> BackgroundService:
    """A service that calls ``tick()`` every ``interval_seconds``; a failing tick is
    logged and retried on the next one, never ending the loop."""

    async def loop() -> None:
        while True:
            try:
                await tick()
            except Exception:
                log.exception("periodic task failed", service=name)
            await asyncio.sleep(interval_seconds)

    return task_service(name, loop)
