"""What a check-in device may do: check a patient in by the code on the appointment,
and say it is alive (heartbeat). The ``DeviceInbox`` port, for the MQTT gateway.

Every message carries the device's id and secret; an unknown device, a wrong secret
and a revoked device are one refusal (``UNAUTHORIZED``), so a caller learns nothing
about which ids exist. A device that proves itself is "seen" (its last-seen time
moves) whatever it sent.

The check-in goes through the API's own use case (``CheckInAppointment``), as the
system acting for the device: the same rules (status APPROVED, the time window),
the same history line, audit entry and event. A repeat of a check-in that happened
already is a success that changes nothing (a kiosk that missed the first reply
sends again).
"""

from __future__ import annotations

from uuid import UUID

from hduce.application.appointments.commands import TransitionCommand
from hduce.application.appointments.transitions import CheckInAppointment
from hduce.application.ports import (
    CheckInRequest,
    Clock,
    DeviceOutcome,
    DeviceReply,
    HeartbeatRequest,
    UnitOfWorkFactory,
)
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.check_in_codes import normalise_check_in_code
from hduce.domain.devices import Device
from hduce.domain.errors import IllegalTransition, NotFound
from hduce.domain.identity import Actor

_UNAUTHORIZED = "unknown or revoked device, or wrong secret"


class DeviceMessages:
    """The ``DeviceInbox`` of the application."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, check_in: CheckInAppointment
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._check_in = check_in

    async def malformed(self, kind: str, device_id: str, error: str) -> DeviceReply:
        return DeviceReply(kind, DeviceOutcome.MALFORMED, f"unreadable message: {error}")

    async def heartbeat(self, request: HeartbeatRequest) -> DeviceReply:
        device = await self._authenticate(request.device_id, request.secret)
        if device is None:
            return DeviceReply(
                "heartbeat", DeviceOutcome.UNAUTHORIZED, _UNAUTHORIZED, request.request_id
            )
        return DeviceReply("heartbeat", DeviceOutcome.SEEN, None, request.request_id)

    async def check_in(self, request: CheckInRequest) -> DeviceReply:
        def reply(
            outcome: DeviceOutcome, reason: str | None = None, found: Appointment | None = None
        ) -> DeviceReply:
            return DeviceReply(
                "checkin",
                outcome,
                reason,
                request.request_id,
                found.id if found else None,
                found.starts_at if found else None,
            )

        device = await self._authenticate(request.device_id, request.secret)
        if device is None:
            return reply(DeviceOutcome.UNAUTHORIZED, _UNAUTHORIZED)
        code = normalise_check_in_code(request.code)
        appointment = await self._by_code(code) if code is not None else None
        if appointment is None:
            return reply(DeviceOutcome.REFUSED, "no appointment has this check-in code")
        if appointment.status is AppointmentStatus.CHECKED_IN:
            return reply(DeviceOutcome.ALREADY_CHECKED_IN, None, appointment)
        command = TransitionCommand(
            actor=Actor.system(),
            appointment_id=appointment.id,
            reason=f"checked in by device {device.name!r} ({device.location}, {device.id})",
        )
        try:
            checked_in = await self._check_in(command)
        except IllegalTransition as refusal:
            # Another device (or the doctor) may have checked it in meanwhile.
            again = await self._by_code(code) if code is not None else None
            if again is not None and again.status is AppointmentStatus.CHECKED_IN:
                return reply(DeviceOutcome.ALREADY_CHECKED_IN, None, again)
            return reply(DeviceOutcome.REFUSED, refusal.why, appointment)
        except NotFound:
            return reply(DeviceOutcome.REFUSED, "no appointment has this check-in code")
        return reply(DeviceOutcome.CHECKED_IN, None, checked_in)

    async def _authenticate(self, device_id: str, secret: str) -> Device | None:
        """The device, if ``secret`` is its own and it is not revoked; it is seen now."""
        try:
            key = UUID(device_id)
        except ValueError:
            return None
        async with self._uow_factory() as uow:
            device = await uow.devices.get(key)
            if device is None or not device.accepts(secret):
                return None
            now = self._clock.now()
            await uow.devices.record_seen(device.id, now)
            await uow.commit()
        device.seen(now)
        return device

    async def _by_code(self, code: str) -> Appointment | None:
        async with self._uow_factory() as uow:
            return await uow.appointments.get_by_check_in_code(code)
