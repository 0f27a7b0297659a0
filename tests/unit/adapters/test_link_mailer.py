"""``BackgroundLinkMailer``: the mail leaves after the caller returned, is retried, and
is dropped (logged, without its body) once the retries are spent."""

from __future__ import annotations

import asyncio

import pytest

from hduce.adapters.email.background import BackgroundLinkMailer
from hduce.adapters.memory import RecordingEmailSender

LINK = "https://app.example/reset-password?token=secret-token"


async def test_the_caller_does_not_wait_and_failures_are_retried() -> None:
    sender = RecordingEmailSender()
    sender.fail_next(2)
    mailer = BackgroundLinkMailer(sender, backoff=(0.01, 0.01, 0.01))
    mailer.send_soon(to="ana@example.org", subject="Reset your password", body=LINK)
    assert mailer.pending == 1 and not sender.sent  # nothing sent yet: the caller goes on
    await mailer.drain(5)
    assert [(m.to, m.body) for m in sender.sent] == [("ana@example.org", LINK)]
    assert mailer.pending == 0


async def test_a_mail_that_keeps_failing_is_dropped_without_its_body(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sender = RecordingEmailSender()
    sender.fail_next(3)
    mailer = BackgroundLinkMailer(sender, backoff=(0.01, 0.01))
    mailer.send_soon(to="ana@example.org", subject="Reset your password", body=LINK)
    await mailer.drain(5)
    assert not sender.sent
    logged = capsys.readouterr()
    assert "link_mail.dropped" in logged.out + logged.err
    assert "secret-token" not in logged.out + logged.err


async def test_close_waits_for_mails_under_way_then_cancels() -> None:
    class Slow(RecordingEmailSender):
        async def send(self, *, to: str, subject: str, body: str) -> None:
            await asyncio.sleep(0.05 if "quick" in subject else 60)
            await super().send(to=to, subject=subject, body=body)

    sender = Slow()
    mailer = BackgroundLinkMailer(sender, shutdown_grace=0.5)
    mailer.send_soon(to="a@example.org", subject="quick", body=LINK)
    mailer.send_soon(to="b@example.org", subject="stuck", body=LINK)
    await mailer.close()
    assert [m.to for m in sender.sent] == ["a@example.org"]
    assert mailer.pending == 0
