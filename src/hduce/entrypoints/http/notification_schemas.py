"""Response bodies of ``/notifications`` (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from hduce.application.ports import Page
from hduce.domain.notifications import Notification


class NotificationView(msgspec.Struct):
    id: UUID
    #: The event behind it, e.g. ``appointment.approved``.
    type: str
    title: str
    message: str
    created_at: datetime
    read: bool
    read_at: datetime | None
    #: ``appointment_id`` (when about one), ``event_id``, ``template``.
    metadata: dict[str, Any]

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
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page[Notification]) -> NotificationPage:
        return cls(
            items=[NotificationView.of(notification) for notification in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )


class UnreadCount(msgspec.Struct):
    unread: int


class MarkedRead(msgspec.Struct):
    #: How many were unread and are now read.
    marked: int
