"""What admins do with check-in devices: register (the secret is shown once), list
with their status, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from hduce.application.access import ensure_admin
from hduce.application.ports import Clock, Page, PageRequest, UnitOfWorkFactory
from hduce.application.use_case import UseCase, load
from hduce.domain.devices import Device, DeviceStatus, new_device_secret
from hduce.domain.identity import Actor
from hduce.domain.ids import uuid7


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    device: Device
    #: The device's secret, in clear this once; only its hash is stored.
    secret: str


@dataclass(frozen=True, slots=True)
class DeviceView:
    device: Device
    status: DeviceStatus


@dataclass(frozen=True, slots=True)
class DevicePolicy:
    #: A device seen within this long is "online".
    online_within: timedelta = timedelta(seconds=120)
    #: First level(s) of the device topics (``{prefix}/devices/{id}/checkin``).
    topic_prefix: str = "hduce"


class RegisterDevice(UseCase):
    async def __call__(self, actor: Actor, *, name: str, location: str) -> RegisteredDevice:
        ensure_admin(actor, "register devices")
        secret = new_device_secret()
        async with self.change(actor) as (uow, audit):
            now = self._clock.now()
            device = Device.register(
                device_id=uuid7(),
                name=name,
                location=location,
                secret=secret,
                now=now,
                registered_by=actor.user_id,
            )
            await uow.devices.add(device)
            await audit(
                "device.registered",
                "device",
                device.id,
                at=now,
                name=device.name,
                location=device.location,
            )
        return RegisteredDevice(device, secret)


class RevokeDevice(UseCase):
    """Revoking twice is no error: the device stays revoked since the first time."""

    async def __call__(self, actor: Actor, device_id: UUID) -> Device:
        ensure_admin(actor, "revoke devices")
        async with self.change(actor) as (uow, audit):
            device = await load(uow.devices.get, device_id, "device")
            now = self._clock.now()
            if device.revoke(now):
                await uow.devices.save(device)
                await audit("device.revoked", "device", device.id, at=now, name=device.name)
        return device


class ListDevices:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: DevicePolicy) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(self, actor: Actor, page: PageRequest = PageRequest()) -> Page[DeviceView]:
        ensure_admin(actor, "list devices")
        async with self._uow_factory() as uow:
            found = await uow.devices.list(page)
        now = self._clock.now()
        return Page(
            items=[DeviceView(d, d.status(now, self._policy.online_within)) for d in found.items],
            total=found.total,
            limit=found.limit,
            offset=found.offset,
        )
