"""Wakes this process's outbox relay when any process commits events: PostgreSQL's
``LISTEN hduce_outbox`` on a connection of its own (processes without a relay of
their own send ``NOTIFY`` after their commits: ``hduce.adapters.sql.outbox_notifier``).

The connection is outside the engine's pool (it stays open for the life of the
process and must not take a pooled one) and is checked every ``health_seconds``; a
lost one is opened again with a growing delay. Each (re)connection rings the signal
once, for what was committed while nobody listened. The relay's poll stays the
safety net for whatever this misses. On SQLite there is nothing to listen to: one
process writes, and its units of work ring the in-process signal themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql.outbox import OUTBOX_CHANNEL
from hduce.application.ports import OutboxSignal

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

# Options SQLAlchemy's asyncpg dialect reads from the URL for itself, not for asyncpg.
_DIALECT_ONLY: Final = ("prepared_statement_cache_size", "prepared_statement_name_func")


class PostgresOutboxListener:
    def __init__(
        self,
        engine: AsyncEngine,
        signal: OutboxSignal,
        *,
        health_seconds: float = 30.0,
        retry_seconds: float = 1.0,
        max_retry_seconds: float = 30.0,
    ) -> None:
        self._engine = engine
        self._signal = signal
        self._health_seconds = health_seconds
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        self.listening = asyncio.Event()  # set while LISTEN is in place (tests wait on it)

    @property
    def applies(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def run(self) -> None:
        """Listen until cancelled (returns at once on SQLite)."""
        if not self.applies:
            return
        delay = self._retry_seconds
        while True:
            try:
                await self._listen()
                delay = self._retry_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "outbox listener: LISTEN failed; retrying in %.0f s", delay, exc_info=True
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_seconds)

    async def _listen(self) -> None:
        connection = await self._connect()
        closed = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: closed.set())
            await connection.add_listener(OUTBOX_CHANNEL, self._on_notify)
            self.listening.set()
            self._signal.notify()  # whatever was committed while nobody listened
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), self._health_seconds)
                    break
                # A connection that died silently (no FIN) shows up here.
                await connection.fetchval("SELECT 1", timeout=self._health_seconds)
            log.warning("outbox listener: the LISTEN connection closed; reconnecting")
        finally:
            self.listening.clear()
            if not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), 5)

    def _on_notify(self, *_: Any) -> None:
        self._signal.notify()

    async def _connect(self) -> asyncpg.Connection:
        return await connect_outside_pool(self._engine, "hduce-outbox-listener")


async def connect_outside_pool(
    engine: AsyncEngine, application_name: str, **server_settings: str
) -> asyncpg.Connection:
    """A connection to the engine's database that the pool does not know of, for the
    life of the process (the pool's must come back to it)."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    for option in _DIALECT_ONLY:
        kwargs.pop(option, None)
    settings = dict(kwargs.get("server_settings") or {})
    settings.setdefault("application_name", application_name)
    settings.update(server_settings)
    kwargs["server_settings"] = settings
    # Imported here: a process on SQLite never listens nor notifies, and never loads asyncpg.
    import asyncpg

    return await asyncpg.connect(*args, **kwargs)
