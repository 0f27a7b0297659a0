"""Notifications: events become stored notifications, which are then delivered.

Storing and delivering are separate steps on purpose: the handler commits the
notifications together with the "event handled" mark (so a redelivered event
adds nothing), and a delivery sweep sends what is still pending (so a mail
server that is down delays messages instead of losing them).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from hduce.application.ports import (
    Clock,
    EmailSender,
    IdGenerator,
    Page,
    PageRequest,
    RealtimeFanout,
    SmsSender,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Actor, User
from hduce.domain.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
    Parties,
    Recipient,
    plan_notifications,
    render,
)

CONSUMER_NAME = "notifications"
MAX_DELIVERY_ATTEMPTS = 5


def _recipient(user: User) -> Recipient:
    return Recipient(
        user_id=user.id,
        full_name=user.full_name,
        timezone=user.timezone,
        email=user.email,
        phone=user.phone,
        email_opt_out=user.email_opt_out,
        sms_opt_out=user.sms_opt_out,
    )


def realtime_message(notification: Notification) -> dict[str, object]:
    return {
        "id": str(notification.id),
        "type": notification.type,
        "title": notification.title,
        "message": notification.message,
        "created_at": notification.created_at.isoformat(),
        "metadata": notification.metadata,
    }


class HandleEventNotifications:
    """Turn one domain event into stored notifications, once per event id."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        realtime: RealtimeFanout,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._ids = ids
        self._realtime = realtime

    async def __call__(self, event: DomainEvent) -> list[Notification]:
        stored: list[Notification] = []
        async with self._uow_factory() as uow:
            if not await uow.processed_events.first_time(CONSUMER_NAME, event.id):
                return []
            parties = await self._parties(uow, event)
            if parties is not None:
                now = self._clock.now()
                for intent in plan_notifications(event, parties):
                    text = render(intent, parties)
                    notification = Notification(
                        id=self._ids.new_id(),
                        recipient_id=intent.recipient.user_id,
                        type=event.type,
                        title=text.title,
                        message=text.body,
                        channel=intent.channel,
                        created_at=now,
                        dedupe_key=intent.dedupe_key,
                        metadata={
                            "event_id": str(event.id),
                            "appointment_id": intent.params.get("appointment_id"),
                            "template": intent.template.value,
                        },
                    )
                    if intent.channel is Channel.IN_APP:
                        notification.mark_sent(now)  # stored = delivered, for the app
                    if await uow.notifications.add(notification):
                        stored.append(notification)
            await uow.commit()
        # Live stream after commit: a client never sees something that was rolled back.
        for notification in stored:
            if notification.channel is Channel.IN_APP:
                await self._realtime.publish(
                    notification.recipient_id, realtime_message(notification)
                )
        return stored

    @staticmethod
    async def _parties(uow: UnitOfWork, event: DomainEvent) -> Parties | None:
        """Patient and doctor of an appointment event; None for events about no one."""
        patient_id = event.payload.get("patient_id")
        doctor_id = event.payload.get("doctor_id")
        if not patient_id or not doctor_id:
            return None
        patient = await uow.users.get(UUID(patient_id))
        doctor = await uow.users.get(UUID(doctor_id))
        if patient is None or doctor is None:
            return None
        return Parties(patient=_recipient(patient), doctor=_recipient(doctor))


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


# ------------------------------------------------------------------ inbox queries


@dataclass(frozen=True, slots=True)
class NotificationInbox:
    """The in-app inbox of one person: list, count, mark read, delete."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def list(
        self, actor: Actor, *, unread_only: bool = False, page: PageRequest = PageRequest()
    ) -> Page[Notification]:
        async with self.uow_factory() as uow:
            return await uow.notifications.list_for(
                _owner(actor), unread_only=unread_only, page=page
            )

    async def unread_count(self, actor: Actor) -> int:
        async with self.uow_factory() as uow:
            return await uow.notifications.unread_count(_owner(actor))

    async def mark_read(self, actor: Actor, notification_id: UUID) -> Notification:
        async with self.uow_factory() as uow:
            notification = await self._own(uow, actor, notification_id)
            notification.mark_read(self.clock.now())
            await uow.notifications.save(notification)
            await uow.commit()
        return notification

    async def mark_all_read(self, actor: Actor) -> int:
        async with self.uow_factory() as uow:
            count = await uow.notifications.mark_all_read(_owner(actor), self.clock.now())
            await uow.commit()
        return count

    async def delete(self, actor: Actor, notification_id: UUID) -> None:
        async with self.uow_factory() as uow:
            await self._own(uow, actor, notification_id)
            await uow.notifications.delete(notification_id)
            await uow.commit()

    @staticmethod
    async def _own(uow: UnitOfWork, actor: Actor, notification_id: UUID) -> Notification:
        notification = await uow.notifications.get(notification_id)
        # Someone else's notification is reported as missing: ids are not to be probed.
        if notification is None or notification.recipient_id != actor.user_id:
            raise NotFound("notification", notification_id)
        return notification


def _owner(actor: Actor) -> UUID:
    if actor.user_id is None:
        raise PermissionDenied("the system has no inbox")
    return actor.user_id
