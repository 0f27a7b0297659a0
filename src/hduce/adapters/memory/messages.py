"""Email and SMS senders that do not leave the machine (embedded defaults, tests).

* ``RecordingEmailSender`` / ``RecordingSmsSender`` keep what they were asked to
  send in a bounded list and can be told to fail (to test retries).
* ``LogEmailSender`` / ``LogSmsSender`` do the same and log each message through
  structlog; ``LogEmailSender`` can also write one ``.eml`` file per message into
  a directory (e.g. ``./var/mail/``), readable by any mail client.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from hduce.adapters.clock import SystemClock
from hduce.adapters.mail_format import PlainTextEmail
from hduce.application.ports import Clock

DEFAULT_FROM = "HDUCE <no-reply@hduce.local>"
#: Where the embedded mode may keep a copy of every email (``LogEmailSender(mail_dir=...)``).
DEFAULT_MAIL_DIR = Path("var") / "mail"

log = structlog.get_logger("hduce.delivery")


class DeliveryFailed(Exception):
    """The failure a recording sender raises when told to fail."""


@dataclass(frozen=True, slots=True)
class SentEmail:
    to: str
    subject: str
    body: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class SentSms:
    to: str
    body: str
    sent_at: datetime


class _FailureInjection:
    def __init__(self) -> None:
        self._failures: deque[Exception] = deque()

    def fail_next(self, times: int = 1, error: Exception | None = None) -> None:
        """Make the next ``times`` sends raise ``error`` (a ``DeliveryFailed`` by default)."""
        for _ in range(times):
            self._failures.append(error or DeliveryFailed("delivery failed (injected)"))

    def _maybe_fail(self) -> None:
        if self._failures:
            raise self._failures.popleft()


class RecordingEmailSender(_FailureInjection):
    def __init__(self, *, clock: Clock | None = None, max_messages: int = 1000) -> None:
        super().__init__()
        self._clock = clock or SystemClock()
        self.sent: deque[SentEmail] = deque(maxlen=max_messages)

    async def send(self, *, to: str, subject: str, body: str) -> None:
        self._maybe_fail()
        self.sent.append(SentEmail(to, subject, body, self._clock.now()))

    def to(self, address: str) -> list[SentEmail]:
        """The messages sent to ``address`` (case-insensitive), oldest first."""
        wanted = address.casefold()
        return [m for m in self.sent if m.to.casefold() == wanted]

    def clear(self) -> None:
        self.sent.clear()


class LogEmailSender(RecordingEmailSender):
    """Logs every email; with ``mail_dir``, also writes it there as an ``.eml`` file."""

    def __init__(
        self,
        *,
        from_address: str = DEFAULT_FROM,
        mail_dir: Path | str | None = None,
        clock: Clock | None = None,
        max_messages: int = 1000,
    ) -> None:
        super().__init__(clock=clock, max_messages=max_messages)
        self.from_address = from_address
        self.mail_dir = Path(mail_dir) if mail_dir is not None else None
        self._format = PlainTextEmail(from_address, message_id_domain="hduce.local")

    async def send(self, *, to: str, subject: str, body: str) -> None:
        await super().send(to=to, subject=subject, body=body)
        message = self.sent[-1]
        path = await self._write(self.mail_dir, message) if self.mail_dir is not None else None
        log.info(
            "email.sent",
            sink="log",
            to=to,
            subject=subject,
            body=body,
            file=str(path) if path else None,
        )

    async def _write(self, mail_dir: Path, sent: SentEmail) -> Path:
        message_id, data = self._format.build(
            to=sent.to, subject=sent.subject, body=sent.body, date=sent.sent_at
        )
        stamp = sent.sent_at.strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{message_id.strip('<>').split('@')[0]}.eml"
        path = mail_dir / name
        await asyncio.to_thread(_write_file, path, data)
        return path


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class RecordingSmsSender(_FailureInjection):
    def __init__(self, *, clock: Clock | None = None, max_messages: int = 1000) -> None:
        super().__init__()
        self._clock = clock or SystemClock()
        self.sent: deque[SentSms] = deque(maxlen=max_messages)

    async def send(self, *, to: str, body: str) -> None:
        self._maybe_fail()
        self.sent.append(SentSms(to, body, self._clock.now()))

    def to(self, number: str) -> list[SentSms]:
        return [m for m in self.sent if m.to == number]

    def clear(self) -> None:
        self.sent.clear()


class LogSmsSender(RecordingSmsSender):
    """Logs every SMS (the embedded default when no SMS provider is configured)."""

    async def send(self, *, to: str, body: str) -> None:
        await super().send(to=to, body=body)
        log.info("sms.sent", sink="log", to=to, body=body)
