"""The in-app inbox of one person: list, count, mark read or unread, delete."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from hduce.application.ports import (
    Clock,
    Page,
    PageRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.identity import Actor
from hduce.domain.notifications import (
    Notification,
)


@dataclass(frozen=True, slots=True)
class NotificationInbox:
    """The in-app inbox of one person: list, count, mark read or unread, delete."""

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

    async def mark_unread(self, actor: Actor, notification_id: UUID) -> Notification:
        async with self.uow_factory() as uow:
            notification = await self._own(uow, actor, notification_id)
            notification.mark_unread()
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
