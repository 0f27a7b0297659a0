"""Request and response bodies of ``/admin/devices`` (msgspec)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.devices.registry import DeviceView as Listed
from hduce.application.devices.registry import RegisteredDevice
from hduce.application.ports import Page
from hduce.domain.devices import MAX_LOCATION_LENGTH, MAX_NAME_LENGTH, Device, DeviceStatus
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import NO_NUL


class DeviceRegistration(msgspec.Struct, forbid_unknown_fields=True):
    """A check-in device (kiosk, QR reader) to register."""

    name: Annotated[
        str, Meta(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NO_NUL), ex(demo.DEVICE_NAME)
    ]
    location: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=MAX_LOCATION_LENGTH,
            pattern=NO_NUL,
            description="Where it stands: building, floor, room (free text)",
        ),
        ex(demo.DEVICE_LOCATION),
    ]


class DeviceView(msgspec.Struct):
    """A registered device and what HDUCE last heard from it."""

    id: Annotated[UUID, ex(demo.DEVICE_ID)]
    name: Annotated[str, ex(demo.DEVICE_NAME)]
    location: Annotated[str, ex(demo.DEVICE_LOCATION)]
    status: Annotated[
        DeviceStatus,
        Meta(
            description="`online`: heard from within HDUCE_DEVICE_ONLINE_WINDOW; `offline`: "
            "heard from before; `never_seen`: not yet; `revoked`: refused from then on",
            examples=["online"],
        ),
    ]
    registered_at: Annotated[dt.datetime, ex(demo.ACCOUNT_CREATED_AT)]
    last_seen_at: Annotated[dt.datetime | None, ex(demo.APPROVED_AT, None)]
    revoked_at: Annotated[dt.datetime | None, ex(None)]

    @classmethod
    def of(cls, device: Device, status: DeviceStatus) -> DeviceView:
        return cls(
            id=device.id,
            name=device.name,
            location=device.location,
            status=status,
            registered_at=device.registered_at,
            last_seen_at=device.last_seen_at,
            revoked_at=device.revoked_at,
        )


class RegisteredDeviceView(msgspec.Struct):
    """The new device, with its secret: shown this once (only a hash is kept)."""

    device: DeviceView
    secret: Annotated[
        str,
        Meta(
            description="Sent by the device in every MQTT message, with its id; store it "
            "on the device now: it cannot be shown again (register a new device instead)",
            examples=[demo.DEVICE_SECRET],
        ),
    ]
    checkin_topic: Annotated[
        str,
        Meta(
            description="Where the device publishes check-ins; heartbeats go to "
            "`.../heartbeat`, replies come on `.../reply`",
            examples=[f"hduce/devices/{demo.DEVICE_ID}/checkin"],
        ),
    ]

    @classmethod
    def of(cls, registered: RegisteredDevice, prefix: str) -> RegisteredDeviceView:
        device = registered.device
        return cls(
            device=DeviceView.of(device, DeviceStatus.NEVER_SEEN),
            secret=registered.secret,
            checkin_topic=f"{prefix}/devices/{device.id}/checkin",
        )


class DevicePage(msgspec.Struct):
    """By name; revoked devices included."""

    items: list[DeviceView]
    total: Annotated[int, ex(1)]
    limit: Annotated[int, ex(50)]
    offset: Annotated[int, ex(0)]

    @classmethod
    def of(cls, page: Page[Listed]) -> DevicePage:
        return cls(
            items=[DeviceView.of(view.device, view.status) for view in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )
