"""The notifications feature (``hduce.application.notifications``): the event handler
that writes them, their delivery by email and SMS, the in-app inbox and its live
stream."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.notifications.inbox import NotificationInbox
from hduce.application.notifications.preferences import (
    GetNotificationPreferences,
    UpdateNotificationPreferences,
)
from hduce.application.notifications.stream import OpenNotificationStream, StreamPolicy
from hduce.application.ports import Clock, EmailSender, SmsSender, UnitOfWorkFactory
from hduce.bootstrap.settings import Settings


class NotificationsProvider(Provider):
    scope = Scope.APP

    handle_event_notifications = provide(HandleEventNotifications)
    notification_inbox = provide(NotificationInbox)
    get_notification_preferences = provide(GetNotificationPreferences)
    update_notification_preferences = provide(UpdateNotificationPreferences)
    open_notification_stream = provide(OpenNotificationStream)

    @provide
    def stream_policy(self, settings: Settings) -> StreamPolicy:
        return StreamPolicy(
            max_per_user=settings.streams.max_per_user,
            session_check_interval=settings.streams.session_check_interval,
        )

    @provide
    def deliver_notifications(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, email: EmailSender, sms: SmsSender
    ) -> DeliverPendingNotifications:
        return DeliverPendingNotifications(uow_factory, clock, email, sms)
