"""What the emailed-link tests share: the app with a real SMTP server, and reading the
link's token out of the email as a person would click it."""

from __future__ import annotations

import re
import uuid
from typing import Any

from hduce.application.notifications.delivery import DeliverPendingNotifications
from tests.e2e.harness import Client, ClinicWorld
from tests.fakes import FixedClock
from tests.services import ReceivedMail, SmtpServer

PUBLIC_URL = "https://app.hduce.example"
RESET_SUBJECT = "Reset your password"
VERIFY_SUBJECT = "Confirm your email address"
CHANGED_SUBJECT = "Your password was changed"
_LINK = re.compile(r"(https://\S+)\?token=([A-Za-z0-9_-]+)")


def mail_env(smtp_server: SmtpServer, **extra: str) -> dict[str, str]:
    return {"HDUCE_SMTP_URL": smtp_server.url, "HDUCE_PUBLIC_URL": PUBLIC_URL, **extra}


def unique_email(name: str = "ana") -> str:
    """Rate limits are kept per address in a shared Redis: every test, every run, its own."""
    return f"{name}-{uuid.uuid4().hex[:10]}@example.org"


async def received(smtp_server: SmtpServer, to: str, subject: str, nth: int = 1) -> ReceivedMail:
    """The ``nth`` mail with ``subject`` that reached ``to`` (waits for it)."""
    await smtp_server.wait_for(lambda _: len(_mails(smtp_server, to, subject)) >= nth, timeout=15)
    return _mails(smtp_server, to, subject)[nth - 1]


def _mails(smtp_server: SmtpServer, to: str, subject: str) -> list[ReceivedMail]:
    return [m for m in smtp_server.messages if to in m.rcpt_tos and m.subject == subject]


def link_in(mail: ReceivedMail) -> tuple[str, str]:
    """(the page the link opens, its token)."""
    found = _LINK.search(mail.text())
    assert found is not None, mail.text()
    return found.group(1), found.group(2)


def mails_to(smtp_server: SmtpServer, to: str) -> list[tuple[str, ...]]:
    return [(m.subject,) for m in smtp_server.messages if to in m.rcpt_tos]


async def deliver_emails(client: Client) -> int:
    """What a worker does: relay the outbox to the handlers (the account notices of
    ``user.password_changed``), then send the pending emails."""
    world = ClinicWorld(client, client.container, client.clock or FixedClock())
    await world.deliver_events()
    deliver = await client.container.get(DeliverPendingNotifications)
    return await deliver()


def without_request_id(response: Any) -> tuple[int, dict[str, Any], set[str]]:
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    return response.status_code, body, set(response.headers) - {"x-request-id"}
