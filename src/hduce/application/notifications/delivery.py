"""Delivery of stored email and SMS notifications; a failed send is retried on the next
sweep, so a mail server that is down delays messages instead of losing them.

Any number of sweeps may run at once (several workers): each first *claims* its batch
(``NotificationRepository.claim_pending``: the rows are its own until a lease runs
out, and each counts an attempt), commits, then sends with no transaction open, and
records each outcome only while it still holds the claim. A worker that dies
mid-batch leaves claims that run out; another worker then sends those messages.
What can still go out twice, and why: docs/decisions/0008-delivery-claims.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from hduce.application.ports import (
    Clock,
    EmailSender,
    SmsSender,
    UnitOfWorkFactory,
)
from hduce.application.tracing import tracing
from hduce.domain.errors import NotFound
from hduce.domain.identity import User
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel, Notification

MAX_DELIVERY_ATTEMPTS = 5
#: How long a sweep holds its claim on a batch: the batch must be sent within it.
DELIVERY_LEASE = timedelta(minutes=5)
#: The longest one send may take (the SMTP and SMS senders time out well before).
#: A claimed message is sent only while at least this much of the lease is left, so
#: no other worker can take it over while its send is still under way.
SEND_ALLOWANCE = timedelta(minutes=1)


class DeliverPendingNotifications:
    """Send pending email and SMS notifications; failures are retried on the next sweep."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        email: EmailSender,
        sms: SmsSender,
        max_attempts: int = MAX_DELIVERY_ATTEMPTS,
        *,
        lease: timedelta = DELIVERY_LEASE,
        send_allowance: timedelta = SEND_ALLOWANCE,
    ) -> None:
        if send_allowance >= lease:
            raise ValueError("the lease must be longer than the time one send may take")
        self._uow_factory = uow_factory
        self._clock = clock
        self._email = email
        self._sms = sms
        self._max_attempts = max_attempts
        self._lease = lease
        self._send_allowance = send_allowance

    async def __call__(self, batch_size: int = 100) -> int:
        """One sweep: claim up to ``batch_size`` messages and send them; returns how
        many the providers accepted."""
        owner = uuid7()  # this sweep: a worker that dies takes its id along
        claimed = await self._claim(owner, batch_size)
        if not claimed:
            return 0
        recipients = await self._recipients(claimed)
        sent = 0
        for notification in claimed:
            if await self._deliver(owner, notification, recipients.get(notification.recipient_id)):
                sent += 1
        return sent

    async def drain(self, batch_size: int = 100, max_batches: int = 20) -> int:
        """Sweeps again while each comes back full, up to ``max_batches``: a burst of
        bookings goes out at once instead of one batch per tick, and a tick stays
        bounded (shutdown waits for it). A batch with a failed send ends it early: the
        failure is retried on a later tick. Returns how many the providers accepted."""
        total = 0
        for _ in range(max_batches):
            sent = await self(batch_size)
            total += sent
            if sent < batch_size:
                break
        return total

    async def _claim(self, owner: UUID, limit: int) -> Sequence[Notification]:
        # Serialized: SQLite and the in-memory store claim under their write lock.
        async with self._uow_factory(serialized=True) as uow:
            claimed = await uow.notifications.claim_pending(
                owner=owner, now=self._clock.now(), lease=self._lease, limit=limit
            )
            await uow.commit()
        return claimed

    async def _recipients(self, claimed: Sequence[Notification]) -> dict[UUID, User]:
        # One read of every recipient of the batch, outside a transaction.
        async with self._uow_factory(read_only=True) as uow:
            return await uow.users.get_many(list({n.recipient_id: None for n in claimed}))

    async def _deliver(self, owner: UUID, notification: Notification, user: User | None) -> bool:
        """Send one claimed message and record the outcome; True when it was sent."""
        sent = False
        claimed_until = notification.claimed_until
        if notification.attempts > self._max_attempts:
            # Earlier attempts never reported back (their workers died mid-send): a
            # message that keeps killing workers must not be tried forever.
            notification.mark_failed(
                f"no outcome recorded for {notification.attempts - 1} attempts", give_up=True
            )
        elif claimed_until is None or self._clock.now() + self._send_allowance > claimed_until:
            # Too little of the lease is left for a send: another worker could take the
            # message over while this one is still sending it. Hand it back untried.
            notification.release()
        else:
            try:
                # Part of the trace of the handler that stored the message (and so of
                # the request that caused it), though sent by a later sweep.
                with (
                    tracing().resumed(notification.trace_context),
                    tracing().span(
                        f"{notification.channel.value} send",
                        kind="client",
                        attributes={
                            "hduce.notification.id": str(notification.id),
                            "hduce.notification.channel": notification.channel.value,
                            "hduce.notification.type": notification.type,
                            "hduce.notification.attempt": notification.attempts,
                        },
                    ),
                ):
                    await self._send(notification, user)
            except Exception as error:  # any channel failure is retried on the next sweep
                notification.mark_failed(
                    f"{type(error).__name__}: {error}",
                    give_up=notification.attempts >= self._max_attempts,
                )
            else:
                notification.mark_sent(self._clock.now())
                sent = True
        # The window that can still duplicate a message: the provider accepted it and
        # this process dies before the next commit. Nothing else happens in between.
        async with self._uow_factory(serialized=True) as uow:
            # False: the lease ran out and another worker claimed it; its record wins.
            await uow.notifications.record_delivery(notification, owner=owner)
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
