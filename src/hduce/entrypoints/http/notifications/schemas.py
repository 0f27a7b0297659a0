"""Response bodies of ``/notifications`` (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.ports import Page
from hduce.domain.notifications import Notification
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
