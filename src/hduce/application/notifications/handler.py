"""Notifications: events become stored notifications, which are then delivered.

Storing and delivering are separate steps on purpose: the handler commits the
notifications together with the "event handled" mark (so a redelivered event
adds nothing), and a delivery sweep sends what is still pending (so a mail
server that is down delays messages instead of losing them).
"""

from __future__ import annotations

from typing import ClassVar

from hduce.application.ports import (
    Clock,
    IdGenerator,
    RealtimeFanout,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.application.tracing import tracing
from hduce.domain.events import AppointmentPayload, DomainEvent
from hduce.domain.identity import User
from hduce.domain.notifications import (
    CONFIRMING_EVENT_TYPES,
    Channel,
    Notification,
    Parties,
    Recipient,
    account_owner,
    plan_account_notifications,
    plan_notifications,
    render,
    render_account_notice,
)

CONSUMER_NAME = "notifications"


def _recipient(user: User) -> Recipient:
    return Recipient(
        user_id=user.id,
        full_name=user.full_name,
        timezone=user.timezone,
        email=user.email,
        phone=user.phone,
        email_opt_out=user.email_opt_out,
        sms_opt_out=user.sms_opt_out,
        opt_outs=user.notification_opt_outs,
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

    consumer: ClassVar[str] = CONSUMER_NAME

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
        # Four statements for a new event (inbox mark, both parties, every notification
        # in one INSERT) and the commit: the worker's throughput is mostly round trips.
        async with self._uow_factory() as uow:
            if not await uow.processed_events.first_time(CONSUMER_NAME, event.id):
                return []
            planned: list[Notification] = []
            parties = await self._parties(uow, event)
            if parties is not None:
                now = self._clock.now()
                # The delivery sweep sends the email and SMS later, in this trace.
                trace = tracing().current_context()
                code = await self._check_in_code(uow, event)
                for intent in plan_notifications(event, parties):
                    text = render(intent, parties, check_in_code=code)
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
                            "appointment_id": str(intent.params["appointment_id"]),
                            "template": intent.template.value,
                        },
                        trace_context=trace,
                    )
                    if intent.channel is Channel.IN_APP:
                        notification.mark_sent(now)  # stored = delivered, for the app
                    planned.append(notification)
            else:
                planned.extend(await self._account_notices(uow, event))
            stored = await uow.notifications.add_all(planned)
            await uow.commit()
        # Live stream after commit: a client never sees something that was rolled back.
        for notification in stored:
            if notification.channel is Channel.IN_APP:
                await self._realtime.publish(
                    notification.recipient_id, realtime_message(notification)
                )
        return stored

    async def _account_notices(self, uow: UnitOfWork, event: DomainEvent) -> list[Notification]:
        """Security notices to the account an event is about (a new device, a changed
        password); none when the account is gone or deactivated."""
        owner_id = account_owner(event)
        owner = await uow.users.get(owner_id) if owner_id is not None else None
        if owner is None or not owner.is_active:
            return []
        now = self._clock.now()
        notices: list[Notification] = []
        for intent in plan_account_notifications(event, _recipient(owner)):
            text = render_account_notice(intent)
            notice = Notification(
                id=self._ids.new_id(),
                recipient_id=owner.id,
                type=event.type,
                title=text.title,
                message=text.body,
                channel=intent.channel,
                created_at=now,
                dedupe_key=intent.dedupe_key,
                metadata={
                    "event_id": str(event.id),
                    "template": intent.template.value,
                    # A waitlist offer: the id to accept or decline it by; a series' id.
                    **{
                        k: str(v)
                        for k, v in intent.params.items()
                        if k in ("offer_id", "series_id")
                    },
                },
            )
            if intent.channel is Channel.IN_APP:
                notice.mark_sent(now)
            notices.append(notice)
        return notices

    @staticmethod
    async def _check_in_code(uow: UnitOfWork, event: DomainEvent) -> str | None:
        """The visit's check-in code, for the events that confirm a visit (one more
        read for those only: the others never show it)."""
        if event.type not in CONFIRMING_EVENT_TYPES:
            return None
        if not isinstance(event.payload, AppointmentPayload):
            return None
        appointment = await uow.appointments.get(event.payload.appointment_id)
        return appointment.check_in_code if appointment is not None else None

    @staticmethod
    async def _parties(uow: UnitOfWork, event: DomainEvent) -> Parties | None:
        """Patient and doctor of an appointment event; None for events about no one."""
        if not isinstance(event.payload, AppointmentPayload):
            return None
        payload = event.payload
        users = await uow.users.get_many([payload.patient_id, payload.doctor_id])
        patient, doctor = users.get(payload.patient_id), users.get(payload.doctor_id)
        if patient is None or doctor is None:
            return None
        return Parties(patient=_recipient(patient), doctor=_recipient(doctor))
