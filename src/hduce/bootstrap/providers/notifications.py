"""The notifications feature (``hduce.application.notifications``): the event handler
that writes them, their delivery by email and SMS, and the in-app inbox."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.notifications.inbox import NotificationInbox
from hduce.application.ports import Clock, EmailSender, SmsSender, UnitOfWorkFactory


class NotificationsProvider(Provider):
    scope = Scope.APP

    handle_event_notifications = provide(HandleEventNotifications)
    notification_inbox = provide(NotificationInbox)

    @provide
    def deliver_notifications(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, email: EmailSender, sms: SmsSender
    ) -> DeliverPendingNotifications:
        return DeliverPendingNotifications(uow_factory, clock, email, sms)
