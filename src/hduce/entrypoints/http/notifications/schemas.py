"""Response bodies of ``/notifications`` (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.notifications.preferences import NotificationPreferences
from hduce.application.ports import Page
from hduce.domain.notifications import Channel, Notification
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.examples import ex


class NotificationView(msgspec.Struct):
    id: Annotated[UUID, ex(demo.NOTIFICATION_ID)]
    #: The event behind it, e.g. ``appointment.approved``.
    type: Annotated[str, ex("appointment.approved")]
    title: Annotated[str, ex("Appointment approved")]
    message: Annotated[str, ex(demo.APPROVED_MESSAGE)]
    created_at: Annotated[datetime, ex(demo.APPROVED_AT)]
    read: Annotated[bool, ex(False)]
    read_at: Annotated[datetime | None, ex(None, "2030-01-03T09:02:11Z")]
    #: ``appointment_id`` (when about one), ``event_id``, ``template``.
    metadata: Annotated[dict[str, Any], ex(demo.NOTIFICATION_METADATA)]

    @classmethod
    def of(cls, notification: Notification) -> NotificationView:
        return cls(
            id=notification.id,
            type=notification.type,
            title=notification.title,
            message=notification.message,
            created_at=notification.created_at,
            read=notification.is_read,
            read_at=notification.read_at,
            metadata=dict(notification.metadata),
        )


class NotificationPage(msgspec.Struct):
    items: list[NotificationView]
    total: Annotated[int, ex(4)]
    limit: Annotated[int, ex(20)]
    offset: Annotated[int, ex(0)]

    @classmethod
    def of(cls, page: Page[Notification]) -> NotificationPage:
        return cls(
            items=[NotificationView.of(notification) for notification in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )


class UnreadCount(msgspec.Struct):
    unread: Annotated[int, ex(3)]


class MarkedRead(msgspec.Struct):
    #: How many were unread and are now read.
    marked: Annotated[int, ex(3)]


class StreamEvent(msgspec.Struct, omit_defaults=True):
    """One Server-Sent Event of ``GET /notifications/stream``, as an EventSource reads
    it (documentation only: the server writes the ``text/event-stream`` lines)."""

    event: Annotated[
        Literal["ready", "notification", "session-expired", "session-revoked"],
        ex("notification"),
    ]
    data: Annotated[
        str,
        Meta(
            description="JSON text: the new notification (`notification`), else `{}`",
            examples=[demo.STREAM_NOTIFICATION_DATA],
        ),
    ]
    #: The notification's id (``notification`` events only).
    id: Annotated[str, ex(demo.NOTIFICATION_ID)] | None = None
    #: Milliseconds to wait before reconnecting (the ``ready`` event only).
    retry: Annotated[int, ex(3000)] | None = None


_KIND_EXAMPLE = "appointment.approved"


class ChannelSwitches(msgspec.Struct, forbid_unknown_fields=True):
    """One kind's channels: `true` on, `false` off; a channel not given keeps its state."""

    in_app: Annotated[bool, ex(True)] | msgspec.UnsetType = msgspec.UNSET
    email: Annotated[bool, ex(False)] | msgspec.UnsetType = msgspec.UNSET
    sms: Annotated[bool, ex(True)] | msgspec.UnsetType = msgspec.UNSET

    def given(self) -> dict[str, bool]:
        return {
            name: value
            for name in ("in_app", "email", "sms")
            if isinstance(value := getattr(self, name), bool)
        }


class PreferencesPatch(msgspec.Struct, forbid_unknown_fields=True):
    """The switches to change, by kind of notification (the event type)."""

    kinds: Annotated[
        dict[str, ChannelSwitches],
        Meta(examples=[{_KIND_EXAMPLE: {"email": False}, "reminder.due": {"sms": False}}]),
    ]


class ChannelStates(msgspec.Struct):
    in_app: Annotated[bool, ex(True)]
    email: Annotated[bool, ex(False)]
    sms: Annotated[bool, ex(True)]


class PreferencesView(msgspec.Struct):
    """Every kind of appointment news and whether it reaches you on each channel (email
    and SMS also need an address or number on the account, and no account-wide opt-out
    of `PATCH /auth/me`). `always_sent`: security notices, sent whatever you choose."""

    kinds: Annotated[
        dict[str, ChannelStates],
        Meta(examples=[{_KIND_EXAMPLE: {"in_app": True, "email": False, "sms": True}}]),
    ]
    always_sent: Annotated[list[str], Meta(examples=[["user.password_changed"]])]

    @classmethod
    def of(cls, preferences: NotificationPreferences) -> PreferencesView:
        return cls(
            kinds={
                kind: ChannelStates(
                    in_app=states[Channel.IN_APP],
                    email=states[Channel.EMAIL],
                    sms=states[Channel.SMS],
                )
                for kind, states in preferences.kinds.items()
            },
            always_sent=list(preferences.always_sent),
        )
