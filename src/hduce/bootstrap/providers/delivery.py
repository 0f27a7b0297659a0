"""Email over SMTP when ``HDUCE_SMTP_URL`` is set, SMS over the HTTP provider when
``HDUCE_SMS_*`` are; log sinks otherwise (the embedded default). Every sender is
metered."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide

from hduce.adapters.email.background import BackgroundLinkMailer
from hduce.adapters.email.smtp import SmtpEmailSender
from hduce.adapters.memory.messages import DEFAULT_MAIL_DIR, LogEmailSender, LogSmsSender
from hduce.application.ports import Clock, EmailSender, LinkMailer, SmsSender
from hduce.bootstrap.metrics import MeteredEmailSender, MeteredSmsSender
from hduce.bootstrap.settings import Settings


class DeliveryProvider(Provider):
    scope = Scope.APP

    @provide
    def email(self, settings: Settings, clock: Clock) -> EmailSender:
        delivery = settings.delivery
        if delivery.smtp is not None:
            return MeteredEmailSender(SmtpEmailSender(delivery.smtp, delivery.email_from))
        return MeteredEmailSender(
            LogEmailSender(from_address=delivery.email_from, clock=clock, mail_dir=DEFAULT_MAIL_DIR)
        )

    @provide
    async def link_mailer(self, email: EmailSender) -> AsyncIterator[LinkMailer]:
        """Emailed links (password reset, verification): sent by this process, never
        stored (ADR 0015); at shutdown, the ones under way get a few seconds."""
        mailer = BackgroundLinkMailer(email)
        try:
            yield mailer
        finally:
            await mailer.close()

    @provide
    async def sms(self, settings: Settings, clock: Clock) -> AsyncIterator[SmsSender]:
        if settings.delivery.sms is None:
            yield MeteredSmsSender(LogSmsSender(clock=clock))
            return
        # Imported only with an SMS provider configured: httpx stays out otherwise.
        from hduce.adapters.sms.http import HttpSmsSender

        sender = HttpSmsSender(settings.delivery.sms)
        try:
            yield MeteredSmsSender(sender)
        finally:
            await sender.aclose()
