"""After a commit that wrote events, tell the relays of other processes, without
taking PostgreSQL's notification lock in the commit.

A process that runs a relay (``hduce serve``, ``hduce worker``) wakes it in process
(``InProcessOutboxSignal``), as on SQLite: nothing leaves the process. A process
without one (``hduce api``, a CLI command) tells the others through this notifier,
which its in-process signal rings instead (``InProcessOutboxSignal(otherwise=...)``):
``SELECT pg_notify('hduce_outbox', '')`` on a connection of its own, outside the
pool, which every worker's ``PostgresOutboxListener`` hears.

Why not ``NOTIFY`` in the committing transaction, as before: PostgreSQL takes one
lock for the whole server on every commit that notifies, and holds it until that
commit is on disk, so every booking committed one after the other (the bench's
``ceiling`` scenario: PostgreSQL alone did 2-2.5 times more booking transactions per
second without the ``NOTIFY``). Here the notifications are sent after the commits, by
one task per process, coalesced: while one is on its way, any number of commits
make one more. That connection does not wait for its commit to reach the disk
(``synchronous_commit`` off): a notification is a wake-up, not data; the relay's poll
is the safety net for a lost one (a dropped connection, a process that exits right
after its commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql.outbox import OUTBOX_CHANNEL
from hduce.adapters.sql.outbox_listener import connect_outside_pool

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

_NOTIFY: Final = "SELECT pg_notify($1, '')"


class PostgresOutboxNotifier:
    """``notify``: a ``NOTIFY hduce_outbox`` soon, from a task of its own, one for any
    number of calls made while one is on its way. Never blocks, never fails."""

    def __init__(self, engine: AsyncEngine, *, retry_seconds: float = 1.0) -> None:
        self._engine = engine
        self._retry_seconds = retry_seconds
        self._pending = False
        self._sender: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        #: Notifications sent to other processes (tests and the bench read it).
        self.sent = 0

    def notify(self) -> None:
        self._pending = True
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(
                self._send_while_pending(), name="hduce-outbox-notifier"
            )

    async def _send_while_pending(self) -> None:
        # Ends when nothing is pending; the next notify starts it again.
        while self._pending:
            self._pending = False
            try:
                if self._connection is None or self._connection.is_closed():
                    self._connection = await connect_outside_pool(
                        self._engine,
                        "hduce-outbox-notifier",
                        synchronous_commit="off",
                    )
                await self._connection.execute(_NOTIFY, OUTBOX_CHANNEL)
                self.sent += 1
            except Exception:
                log.warning(
                    "outbox notifier: NOTIFY failed; the relays' poll will find the events",
                    exc_info=True,
                )
                await self._drop_connection()
                await asyncio.sleep(self._retry_seconds)

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)

    async def aclose(self) -> None:
        """Send what is pending (briefly), then close the connection."""
        if self._sender is not None and not self._sender.done():
            with contextlib.suppress(Exception, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._sender), 2)
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
        await self._drop_connection()
