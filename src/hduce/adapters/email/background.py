"""``LinkMailer``: emails that carry a secret, sent by this process right after the
request, with a few retries, and never stored (ADR 0015).

Why not the notification outbox every other email takes: a notification row keeps
its text, and the text of these is a working password-reset or verification link;
a copy of the database (a backup, a replica, a read-only leak) must not be enough to
take over an account. Why not send inside the request: the answer would then take
longer when the address has an account (one SMTP session) than when it has none,
telling anyone who measures which addresses are registered.

Hand-written because it is small: a set of asyncio tasks (kept referenced so none is
collected mid-send), each sending one message through the ``EmailSender`` port with
backoff, and a ``close`` that waits a bounded time for those still under way at
shutdown. A message that still fails is logged (recipient's domain only, never the
body) and dropped: the person asks for a new link.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog

from hduce.application.ports import EmailSender

log = structlog.get_logger("hduce.delivery")

#: Seconds to wait before each retry (so 4 attempts over about 40 s).
DEFAULT_BACKOFF: tuple[float, ...] = (2.0, 8.0, 30.0)


class BackgroundLinkMailer:
    def __init__(
        self,
        sender: EmailSender,
        *,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        shutdown_grace: float = 10.0,
    ) -> None:
        self._sender = sender
        self._backoff = tuple(backoff)
        self._grace = shutdown_grace
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def send_soon(self, *, to: str, subject: str, body: str) -> None:
        task = asyncio.get_running_loop().create_task(
            self._send(to, subject, body), name="link-mail"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, to: str, subject: str, body: str) -> None:
        domain = to.rpartition("@")[2]
        for attempt, delay in enumerate((*self._backoff, None), start=1):
            try:
                await self._sender.send(to=to, subject=subject, body=body)
            except Exception as error:  # any transport failure: retry, then give up
                if delay is None:
                    log.error(
                        "link_mail.dropped",
                        subject=subject,
                        domain=domain,
                        attempts=attempt,
                        error=f"{type(error).__name__}: {error}",
                    )
                    return
                log.warning("link_mail.retry", subject=subject, domain=domain, attempt=attempt)
                await asyncio.sleep(delay)
            else:
                return

    async def drain(self, within: float | None = None) -> None:
        """Wait for the messages under way, at most ``within`` seconds (tests; shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)

    async def close(self) -> None:
        """At shutdown: let messages under way finish for a while, then cancel the rest."""
        await self.drain(self._grace)
        left = list(self._tasks)
        if left:
            log.warning("link_mail.cancelled_at_shutdown", count=len(left))
        for task in left:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
