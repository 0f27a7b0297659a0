"""Notifications: one row per event, recipient and channel (dedupe key)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.repositories._support import (
    DEFAULT_PAGE,
    Repository,
    copied,
    paginate,
)
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import Page, PageRequest
from hduce.domain.errors import AlreadyExists, NotFound
from hduce.domain.notifications import Channel, DeliveryStatus, Notification


class InMemoryNotificationRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._notifications = tables.notifications
        self._users = tables.users

    def _dedupe_taken(self, notification: Notification) -> bool:
        return any(
            other.dedupe_key == notification.dedupe_key and other.id != notification.id
            for other in self._notifications.values()
        )

    async def add(self, notification: Notification) -> bool:
        if self._dedupe_taken(notification):
            return False
        if notification.id in self._notifications:
            raise AlreadyExists(f"notification {notification.id} already exists")
        if notification.recipient_id not in self._users:
            raise NotFound("user", notification.recipient_id)
        self._notifications.put(notification.id, copied(notification), insert=True)
        return True

    async def get(self, notification_id: UUID) -> Notification | None:
        return copied(self._notifications.get(notification_id))

    async def save(self, notification: Notification) -> None:
        if notification.id not in self._notifications:
            raise NotFound("notification", notification.id)
        self._notifications.put(notification.id, copied(notification))

    def _in_app(self, recipient_id: UUID) -> builtins.list[Notification]:
        return [
            n
            for n in self._notifications.values()
            if n.recipient_id == recipient_id and n.channel is Channel.IN_APP
        ]

    async def list_for(
        self, recipient_id: UUID, *, unread_only: bool = False, page: PageRequest = DEFAULT_PAGE
    ) -> Page[Notification]:
        found = [n for n in self._in_app(recipient_id) if not (unread_only and n.is_read)]
        found.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return paginate([copied(n) for n in found], page)

    async def unread_count(self, recipient_id: UUID) -> int:
        return sum(1 for n in self._in_app(recipient_id) if not n.is_read)

    async def pending_delivery(self, *, limit: int) -> Sequence[Notification]:
        found = sorted(
            (
                n
                for n in self._notifications.values()
                if n.status is DeliveryStatus.PENDING and n.channel is not Channel.IN_APP
            ),
            key=lambda n: (n.created_at, n.id),
        )
        return [copied(n) for n in found[: max(limit, 0)]]

    async def mark_all_read(self, recipient_id: UUID, now: datetime) -> int:
        changed = 0
        for notification in self._in_app(recipient_id):
            if notification.is_read:
                continue
            updated = copied(notification)
            updated.mark_read(now)
            self._notifications.put(updated.id, updated)
            changed += 1
        return changed

    async def delete(self, notification_id: UUID) -> None:
        if notification_id not in self._notifications:
            raise NotFound("notification", notification_id)
        self._notifications.delete(notification_id)

    async def list_after(
        self, recipient_id: UUID, after_id: UUID, *, limit: int
    ) -> Sequence[Notification]:
        found = sorted(
            (n for n in self._in_app(recipient_id) if n.id > after_id), key=lambda n: n.id
        )
        return [copied(n) for n in found[: max(limit, 0)]]

    def validate_commit(self) -> None:
        for notification_id in self._notifications.inserts_taken():
            raise AlreadyExists(f"notification {notification_id} already exists")
        for notification_id in self._notifications.inserted:
            row = self._notifications.get(notification_id)
            if row is not None and self._dedupe_taken(row):
                raise AlreadyExists(f"a notification with key {row.dedupe_key} exists already")
