"""``DeliveryProvider`` picks the real senders when they are configured (SMTP by
``HDUCE_SMTP_URL``, the HTTP SMS provider by ``HDUCE_SMS_*``) and the log sinks
otherwise, always behind the metering decorators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hduce.adapters.email import SmtpEmailSender
from hduce.adapters.memory import LogEmailSender, LogSmsSender
from hduce.adapters.sms import HttpSmsSender
from hduce.application.messaging.reminders import SendDueReminders
from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.ports import (
    Cache,
    EmailSender,
    RateLimiter,
    RealtimeFanout,
    RealtimeSubscriber,
    SmsSender,
    StreamSlots,
    TokenDenylist,
    UserAccessCache,
)
from hduce.bootstrap.container import build_container
from hduce.bootstrap.metrics import MeteredEmailSender, MeteredSmsSender
from hduce.bootstrap.settings import Settings

SMTP_AND_SMS = {
    "HDUCE_SMTP_URL": "smtp+starttls://mailer:secret@mail.example.org:587",
    "HDUCE_EMAIL_FROM": "Clínica <citas@clinic.example.org>",
    "HDUCE_SMS_API_URL": "https://api.sms.example.org/2010-04-01",
    "HDUCE_SMS_ACCOUNT_SID": "AC0123",
    "HDUCE_SMS_AUTH_TOKEN": "token-0123456789",
    "HDUCE_SMS_FROM": "+15005550006",
}


def settings(tmp_path: Path, **environ: str) -> Settings:
    return Settings.from_env(
        {"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db", **environ}
    )


def unwrap(sender: Any) -> Any:
    """The sender inside a metering decorator."""
    assert isinstance(sender, MeteredEmailSender | MeteredSmsSender)
    return sender._inner


async def test_without_providers_messages_go_to_the_log_sinks(tmp_path: Path) -> None:
    container = build_container(settings(tmp_path, HDUCE_EMAIL_FROM="HDUCE <a@b.example.org>"))
    try:
        email = await container.get(EmailSender)
        sms = await container.get(SmsSender)
        assert isinstance(email, MeteredEmailSender)
        assert isinstance(sms, MeteredSmsSender)
        log_email = unwrap(email)
        assert isinstance(log_email, LogEmailSender)
        assert log_email.from_address == "HDUCE <a@b.example.org>"
        assert isinstance(unwrap(sms), LogSmsSender)
    finally:
        await container.close()


async def test_with_smtp_and_sms_settings_the_real_senders_are_used(tmp_path: Path) -> None:
    container = build_container(settings(tmp_path, **SMTP_AND_SMS))
    try:
        email = await container.get(EmailSender)
        sms = await container.get(SmsSender)
        assert isinstance(email, MeteredEmailSender)
        assert isinstance(sms, MeteredSmsSender)
        smtp = unwrap(email)
        assert isinstance(smtp, SmtpEmailSender)
        assert smtp.server == "mail.example.org:587"
        http = unwrap(sms)
        assert isinstance(http, HttpSmsSender)
        assert not http.is_closed
        # The sweep gets the same senders.
        deliver = await container.get(DeliverPendingNotifications)
        assert deliver._email is email
        assert deliver._sms is sms
    finally:
        await container.close()
    assert http.is_closed  # the container owns the SMS sender's HTTP client


async def test_each_channel_is_configured_on_its_own(tmp_path: Path) -> None:
    smtp_only = {"HDUCE_SMTP_URL": "smtps://mail.example.org"}
    container = build_container(settings(tmp_path, **smtp_only))
    try:
        assert isinstance(unwrap(await container.get(EmailSender)), SmtpEmailSender)
        assert isinstance(unwrap(await container.get(SmsSender)), LogSmsSender)
    finally:
        await container.close()

    sms_only = {k: v for k, v in SMTP_AND_SMS.items() if k.startswith("HDUCE_SMS_")}
    container = build_container(settings(tmp_path, **sms_only))
    try:
        assert isinstance(unwrap(await container.get(EmailSender)), LogEmailSender)
        assert isinstance(unwrap(await container.get(SmsSender)), HttpSmsSender)
    finally:
        await container.close()


async def test_reminders_can_be_switched_off(tmp_path: Path) -> None:
    """HDUCE_REMINDER_OFFSETS=none is documented as valid: the sweep resolves and runs."""
    container = build_container(settings(tmp_path, HDUCE_REMINDER_OFFSETS="none"))
    try:
        sweep = await container.get(SendDueReminders)
        assert await sweep() == 0
    finally:
        await container.close()


async def test_redis_holds_exactly_what_the_readme_says(tmp_path: Path) -> None:
    """The README's split-deployment section names what Redis holds; that list must be
    what the container wires to Redis (it once promised a shared cache that did not exist)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    claim = " ".join(readme.split("Redis\nholds", 1)[1].split(".", 1)[0].split())
    assert claim == (
        "the state the processes share: the token denylist, each account's access state "
        "(what authentication reads instead of the database, ADR 0010), the rate-limit counters, "
        "pending Google sign-ins and second-factor challenges, the live notification "
        "fan-out and the cap on open "
        "streams (a stream on any API instance gets what any worker stores; nothing "
        "else is cached)"
    )
    container = build_container(settings(tmp_path, HDUCE_REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        wired = {
            port.__name__: type(await container.get(port)).__name__
            for port in (
                Cache,
                RateLimiter,
                TokenDenylist,
                UserAccessCache,
                RealtimeFanout,
                RealtimeSubscriber,
                StreamSlots,
            )
        }
    finally:
        await container.close()
    # Cache = pending Google sign-ins (its only user is application.identity.google).
    assert wired == {
        "Cache": "RedisCache",
        "RateLimiter": "RedisRateLimiter",
        "TokenDenylist": "RedisTokenDenylist",
        "UserAccessCache": "LayeredUserAccessCache",  # process memory, then Redis
        "RealtimeFanout": "RedisRealtimeFanout",
        "RealtimeSubscriber": "RedisRealtimeFanout",
        "StreamSlots": "RedisStreamSlots",
    }
