"""A person's notification preferences: which kinds of appointment news reach them on
which channel (in-app, email, SMS). Stored on the account; the notification policy
(``hduce.domain.notifications.plan_notifications``) honours them. Security notices
(a new device signed in, a password changed) are sent whatever they say.

The account-wide ``email_opt_out``/``sms_opt_out`` of ``PATCH /auth/me`` still turn a
whole channel off; these turn off one kind on one channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.identity import Actor, User
from hduce.domain.notifications import (
    ACCOUNT_EVENT_TYPES,
    OPTIONAL_KINDS,
    Channel,
    checked_opt_outs,
    opt_out_key,
)


@dataclass(frozen=True, slots=True)
class NotificationPreferences:
    #: Every kind that can be turned off -> channel -> on?
    kinds: Mapping[str, Mapping[Channel, bool]]
    #: Kinds that are always sent (security notices).
    always_sent: tuple[str, ...]

    @classmethod
    def of(cls, user: User) -> NotificationPreferences:
        return cls(
            kinds={
                kind: {
                    channel: opt_out_key(channel, kind) not in user.notification_opt_outs
                    for channel in Channel
                }
                for kind in sorted(OPTIONAL_KINDS)
            },
            always_sent=tuple(sorted(ACCOUNT_EVENT_TYPES - OPTIONAL_KINDS)),
        )


async def _own_account(uow_factory: UnitOfWorkFactory, actor: Actor) -> User:
    if actor.user_id is None:
        raise PermissionDenied("the system has no notification preferences")
    async with uow_factory() as uow:
        user = await uow.users.get(actor.user_id)
    if user is None:
        raise NotFound("user", actor.user_id)
    return user


class GetNotificationPreferences:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor) -> NotificationPreferences:
        return NotificationPreferences.of(await _own_account(self._uow_factory, actor))


class UpdateNotificationPreferences:
    """Changes only the (kind, channel) switches given; the others stay."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(
        self, actor: Actor, switches: Mapping[str, Mapping[str, bool]]
    ) -> NotificationPreferences:
        turned_off = checked_opt_outs(
            (channel, kind) for kind, channels in switches.items() for channel in channels
        )
        turned_on = {
            key
            for kind, channels in switches.items()
            for channel, on in channels.items()
            if on
            for key in [opt_out_key(Channel(channel), kind)]
        }
        turned_off -= turned_on
        if actor.user_id is None:
            raise PermissionDenied("the system has no notification preferences")
        async with self._uow_factory() as uow:
            user = await uow.users.get(actor.user_id)
            if user is None:
                raise NotFound("user", actor.user_id)
            updated = replace(
                user,
                notification_opt_outs=(user.notification_opt_outs - turned_on) | turned_off,
            )
            if updated.notification_opt_outs != user.notification_opt_outs:
                await uow.users.save(updated)
                await uow.commit()
        return NotificationPreferences.of(updated)
