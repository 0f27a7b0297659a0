"""``/api/v1/admin/devices``: check-in devices (kiosks, QR readers that talk MQTT):
register one (its secret is answered once), list them with their status, revoke one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hduce.application.devices.registry import (
    DevicePolicy,
    ListDevices,
    RegisterDevice,
    RevokeDevice,
)
from hduce.application.ports import PageRequest
from hduce.domain.devices import DeviceStatus
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.admin.device_schemas import (
    DevicePage,
    DeviceRegistration,
    DeviceView,
    RegisteredDeviceView,
)
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    requires_role,
)
from hduce.entrypoints.http.problems import (
    invalid_input_example,
    invalid_request_example,
    not_found_example,
    problem_spec,
)

_ERRORS = {
    401: problem_spec(401, "Not authenticated"),
    403: problem_spec(403, "Not an admin"),
}
_BAD_PAGE = problem_spec(
    400,
    "A malformed parameter; `errors` names it",
    invalid_request_example(
        "limit",
        "Expected `int` <= 200",
        source="query",
        detail="Validation failed for GET /api/v1/admin/devices?limit=1000",
    ),
)
_BAD_ID = problem_spec(
    400,
    "A device id that is not a UUID",
    invalid_request_example(
        "device_id",
        "Invalid UUID",
        source="path",
        detail="Validation failed for POST /api/v1/admin/devices/kiosk-1/revoke",
    ),
)


class AdminDevicesController(Controller):
    path = "/admin/devices"
    tags = ("admin",)
    guards = (json_bodies_only, requires_role(Role.ADMIN))
    dependencies = AUTH_DEPENDENCIES

    @post(
        "/",
        summary="Register a check-in device (its secret is shown once)",
        description=(
            "The device sends its id and this secret in every MQTT message "
            "(docs/devices.md). Only a hash of the secret is stored: keep the answer."
        ),
        responses={
            **_ERRORS,
            400: problem_spec(
                400,
                "Malformed body, or a name or location that is empty or too long",
                invalid_input_example("name", "name must be 1 to 120 characters"),
                invalid_request_example("location", "Object missing required field `location`"),
            ),
        },
    )
    async def register_device(
        self,
        data: JSONBody[DeviceRegistration],
        actor: NamedDependency[Actor],
        register: FromDishka[RegisterDevice],
        policy: FromDishka[DevicePolicy],
    ) -> RegisteredDeviceView:
        registered = await register(actor, name=data.name, location=data.location)
        return RegisteredDeviceView.of(registered, policy.topic_prefix)

    @get(
        "/",
        summary="List check-in devices with their status",
        responses={**_ERRORS, 400: _BAD_PAGE},
    )
    async def list_devices(
        self,
        actor: NamedDependency[Actor],
        list_devices: FromDishka[ListDevices],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> DevicePage:
        return DevicePage.of(await list_devices(actor, PageRequest(limit=limit, offset=offset)))

    @post(
        "/{device_id:uuid}/revoke",
        status_code=200,
        summary="Revoke a device: its messages are refused from now on",
        description="Revoking a revoked device changes nothing and answers it as it is.",
        responses={
            **_ERRORS,
            400: _BAD_ID,
            404: problem_spec(404, "No such device", not_found_example("device", demo.DEVICE_ID)),
        },
    )
    async def revoke_device(
        self,
        device_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        revoke: FromDishka[RevokeDevice],
    ) -> DeviceView:
        device = await revoke(actor, device_id)
        return DeviceView.of(device, DeviceStatus.REVOKED)
