"""Delivery of stored email and SMS notifications; a failed send is retried on the next
sweep, so a mail server that is down delays messages instead of losing them."""

from __future__ import annotations

from hduce.application.ports import (
    Clock,
    EmailSender,
    SmsSender,
    UnitOfWorkFactory,
)
from hduce.domain.errors import NotFound
from hduce.domain.identity import User
from hduce.domain.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
)

MAX_DELIVERY_ATTEMPTS = 5


class DeliverPendingNotifications:
    """Send pending email and SMS notifications; failures are retried on the next sweep."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        email: EmailSender,
        sms: SmsSender,
        max_attempts: int = MAX_DELIVERY_ATTEMPTS,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._email = email
        self._sms = sms
        self._max_attempts = max_attempts

    async def __call__(self, batch_size: int = 100) -> int:
        async with self._uow_factory() as uow:
            pending = await uow.notifications.pending_delivery(limit=batch_size)
        sent = 0
        for candidate in pending:
            async with self._uow_factory() as uow:
                notification = await uow.notifications.get(candidate.id)
                if notification is None or notification.status is not DeliveryStatus.PENDING:
                    continue
                user = await uow.users.get(notification.recipient_id)
                try:
                    await self._send(notification, user)
                except Exception as error:  # any channel failure is retried on the next sweep
                    notification.mark_failed(
                        f"{type(error).__name__}: {error}",
                        give_up=notification.attempts + 1 >= self._max_attempts,
                    )
                else:
                    notification.mark_sent(self._clock.now())
                    sent += 1
                await uow.notifications.save(notification)
                await uow.commit()
        return sent

    async def _send(self, notification: Notification, user: User | None) -> None:
        if user is None or not user.is_active:
            raise NotFound("recipient", notification.recipient_id)
        if notification.channel is Channel.EMAIL:
            await self._email.send(
                to=user.email, subject=notification.title, body=notification.message
            )
        elif notification.channel is Channel.SMS:
            if not user.phone:
                raise NotFound("phone number of", user.id)
            await self._sms.send(to=user.phone, body=notification.message)
