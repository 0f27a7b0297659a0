"""Notifications: one row per event, recipient and channel (dedupe key)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
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
        # Rows this unit claimed or recorded, and who must still hold each committed row
        # when it commits (the claim it took over, or its own): a claim is never lost
        # silently to another unit that committed first.
        self._claim_guards: dict[UUID, UUID | None] = {}

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

    async def add_all(self, notifications: Sequence[Notification]) -> list[Notification]:
        return [n for n in notifications if await self.add(n)]

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

    async def claim_pending(
        self, *, owner: UUID, now: datetime, lease: timedelta, limit: int
    ) -> Sequence[Notification]:
        found = sorted(
            (n for n in self._notifications.values() if n.is_claimable(now)),
            key=lambda n: (n.created_at, n.id),
        )
        claimed: builtins.list[Notification] = []
        for notification in found[: max(limit, 0)]:
            self._guard(notification.id, notification.claimed_by)
            updated = copied(notification)
            updated.claim(owner, now + lease)
            self._notifications.put(updated.id, updated)
            claimed.append(copied(updated))
        return claimed

    async def record_delivery(self, notification: Notification, *, owner: UUID) -> bool:
        current = self._notifications.get(notification.id)
        if current is None or current.claimed_by != owner:
            return False
        self._guard(notification.id, owner)
        self._notifications.put(notification.id, copied(notification))
        return True

    def _guard(self, notification_id: UUID, holder: UUID | None) -> None:
        committed = self._notifications.base.get(notification_id)
        if committed is not None:
            self._claim_guards.setdefault(notification_id, holder)

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
        for notification_id, holder in self._claim_guards.items():
            committed = self._notifications.base.get(notification_id)
            if committed is None or committed.claimed_by != holder:
                raise AlreadyExists(
                    f"notification {notification_id} was claimed by another worker meanwhile"
                )

    def reset(self) -> None:
        self._claim_guards.clear()
