"""The check-in devices feature (``hduce.application.devices``): the admin's use cases
and the ``DeviceInbox`` the MQTT gateway hands device messages to (counted by
``MeteredDeviceInbox``)."""

from __future__ import annotations

from datetime import timedelta

from dishka import Provider, Scope, provide

from hduce.application.appointments.transitions import CheckInAppointment
from hduce.application.devices.gateway import DeviceMessages
from hduce.application.devices.registry import (
    DevicePolicy,
    ListDevices,
    RegisterDevice,
    RevokeDevice,
)
from hduce.application.ports import Clock, DeviceInbox, UnitOfWorkFactory
from hduce.bootstrap.metrics import MeteredDeviceInbox
from hduce.bootstrap.settings import Settings


class DevicesProvider(Provider):
    scope = Scope.APP

    @provide
    def device_policy(self, settings: Settings) -> DevicePolicy:
        return DevicePolicy(
            online_within=timedelta(seconds=settings.devices.online_window),
            topic_prefix=settings.devices.topic_prefix,
        )

    register_device = provide(RegisterDevice)
    revoke_device = provide(RevokeDevice)
    list_devices = provide(ListDevices)

    @provide
    def device_inbox(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, check_in: CheckInAppointment
    ) -> DeviceInbox:
        return MeteredDeviceInbox(DeviceMessages(uow_factory, clock, check_in))
