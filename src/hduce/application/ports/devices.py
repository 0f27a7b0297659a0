"""Device ports: what a device gateway (the MQTT subscriber) asks of the application.

The gateway decodes a device's message, hands it to a ``DeviceInbox`` and sends the
``DeviceReply`` back to the device. Metrics wrap the inbox (a port decorator in
``hduce.bootstrap.metrics``), so every gateway is counted alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class DeviceOutcome(StrEnum):
    #: The patient is checked in now.
    CHECKED_IN = "checked_in"
    #: The patient was checked in already (a repeated scan): success, nothing changed.
    ALREADY_CHECKED_IN = "already_checked_in"
    #: A heartbeat was recorded.
    SEEN = "seen"
    #: The device is known and allowed, but the rules refuse the check-in (``reason``).
    REFUSED = "refused"
    #: Unknown device, wrong secret or revoked device: nothing was looked at.
    UNAUTHORIZED = "unauthorized"
    #: The message is not what the topic expects (not JSON, missing fields).
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class CheckInRequest:
    device_id: str  # as the topic spells it; not trusted until the secret matches
    secret: str
    code: str
    #: The device's own id for this message, echoed in the reply.
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatRequest:
    device_id: str
    secret: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceReply:
    kind: str  # "checkin" or "heartbeat"
    outcome: DeviceOutcome
    reason: str | None = None
    request_id: str | None = None
    appointment_id: UUID | None = None
    starts_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (
            DeviceOutcome.CHECKED_IN,
            DeviceOutcome.ALREADY_CHECKED_IN,
            DeviceOutcome.SEEN,
        )


class DeviceInbox(Protocol):
    async def check_in(self, request: CheckInRequest) -> DeviceReply: ...
    async def heartbeat(self, request: HeartbeatRequest) -> DeviceReply: ...
    async def malformed(self, kind: str, device_id: str, error: str) -> DeviceReply:
        """The reply to a message that did not decode (counted like the others)."""
        ...
