"""The MQTT side of check-in devices: FastStream subscribers that hand each device
message to the ``DeviceInbox`` and publish its reply to the device.

Topics, under ``HDUCE_MQTT_TOPIC_PREFIX`` (``hduce`` by default; docs/devices.md):

* ``{prefix}/devices/{device_id}/checkin``   device -> HDUCE: ``{"secret", "code", "request_id"?}``
* ``{prefix}/devices/{device_id}/heartbeat`` device -> HDUCE: ``{"secret", "request_id"?}``
* ``{prefix}/devices/{device_id}/reply``     HDUCE -> device: the outcome of each message

Each worker subscribes through a shared subscription (MQTT 5 ``$share/<group>/...``):
with several workers, each message goes to one of them, and the device gets one reply.
Messages and replies are QoS 1 (at least once); a repeated check-in is a success that
changes nothing, so a redelivery is harmless.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import msgspec
import structlog
from faststream.mqtt import MQTTBroker, QoS
from faststream.mqtt.annotations import MQTTMessage

from hduce.application.ports import (
    CheckInRequest,
    DeviceInbox,
    DeviceReply,
    HeartbeatRequest,
)

log = structlog.get_logger(__name__)

BROKER_LOGGER: Final = logging.getLogger("hduce.mqtt")
#: The shared-subscription group of the workers (every worker joins it).
SHARED_GROUP: Final = "hduce-workers"
#: How long stopping may wait beyond the handlers' graceful timeout. zmqtt waits for the
#: broker's UNSUBACK with no timeout of its own, so a half-open connection could hold a
#: stopping worker forever; past this bound the connection is dropped with the process.
STOP_MARGIN_SECONDS: Final = 5.0
#: Longest accepted message: a secret, a code and an id fit in a fraction of it.
MAX_MESSAGE_BYTES: Final = 4096


class CheckInMessage(msgspec.Struct, forbid_unknown_fields=True):
    secret: str
    code: str
    request_id: str | None = None


class HeartbeatMessage(msgspec.Struct, forbid_unknown_fields=True):
    secret: str
    request_id: str | None = None


class ReplyMessage(msgspec.Struct, omit_defaults=True):
    kind: str
    ok: bool
    outcome: str
    request_id: str | None = None
    reason: str | None = None
    appointment_id: UUID | None = None
    starts_at: datetime | None = None


def topics(prefix: str) -> dict[str, str]:
    """The topic templates (``{device_id}`` is one topic level)."""
    base = f"{prefix}/devices/{{device_id}}"
    return {
        "checkin": f"{base}/checkin",
        "heartbeat": f"{base}/heartbeat",
        "reply": f"{base}/reply",
    }


def encode_reply(reply: DeviceReply) -> bytes:
    return msgspec.json.encode(
        ReplyMessage(
            kind=reply.kind,
            ok=reply.ok,
            outcome=reply.outcome.value,
            request_id=reply.request_id,
            reason=reply.reason,
            appointment_id=reply.appointment_id,
            starts_at=reply.starts_at,
        )
    )


_CHECK_IN = msgspec.json.Decoder(CheckInMessage)
_HEARTBEAT = msgspec.json.Decoder(HeartbeatMessage)


class MqttDeviceGateway:
    """One FastStream ``MQTTBroker`` with the device subscribers. ``start`` connects
    and subscribes; ``stop`` lets messages being handled finish, then disconnects."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        inbox: DeviceInbox,
        shared_group: str = SHARED_GROUP,
        graceful_timeout: float = 10.0,
    ) -> None:
        self.prefix = prefix
        self.topics = topics(prefix)
        self.stop_timeout = graceful_timeout + STOP_MARGIN_SECONDS
        self._inbox = inbox
        self.broker = MQTTBroker(
            url,
            # Unique per process: a broker disconnects an older client of the same id.
            client_id=f"hduce-{uuid4().hex[:12]}",
            graceful_timeout=graceful_timeout,
            logger=BROKER_LOGGER,
            log_level=logging.DEBUG,
            description="Check-in devices (kiosks, QR readers) of the clinics.",
        )
        self._subscribe(shared_group)

    def _subscribe(self, shared_group: str) -> None:
        broker, inbox = self.broker, self._inbox

        @broker.subscriber(
            self.topics["checkin"],
            qos=QoS.AT_LEAST_ONCE,
            shared=shared_group,
            title="device check-in",
            description=(
                "A device read a patient's check-in code: "
                '{"secret": "<device secret>", "code": "<8 characters>", '
                '"request_id": "<optional, echoed>"}. The reply goes to .../reply.'
            ),
        )
        async def on_check_in(message: MQTTMessage) -> None:
            device_id = str(message.path.get("device_id", ""))
            try:
                decoded = _CHECK_IN.decode(_bounded(message.body))
            except (msgspec.DecodeError, msgspec.ValidationError, _TooLarge) as error:
                reply = await inbox.malformed("checkin", device_id, str(error))
            else:
                reply = await inbox.check_in(
                    CheckInRequest(device_id, decoded.secret, decoded.code, decoded.request_id)
                )
            await self._reply(device_id, reply)

        @broker.subscriber(
            self.topics["heartbeat"],
            qos=QoS.AT_LEAST_ONCE,
            shared=shared_group,
            title="device heartbeat",
            description=(
                'A device is alive: {"secret": "<device secret>", "request_id": '
                '"<optional>"}. Its last-seen time moves; the reply goes to .../reply.'
            ),
        )
        async def on_heartbeat(message: MQTTMessage) -> None:
            device_id = str(message.path.get("device_id", ""))
            try:
                decoded = _HEARTBEAT.decode(_bounded(message.body))
            except (msgspec.DecodeError, msgspec.ValidationError, _TooLarge) as error:
                reply = await inbox.malformed("heartbeat", device_id, str(error))
            else:
                reply = await inbox.heartbeat(
                    HeartbeatRequest(device_id, decoded.secret, decoded.request_id)
                )
            await self._reply(device_id, reply)

    async def _reply(self, device_id: str, reply: DeviceReply) -> None:
        topic = self.topics["reply"].format(device_id=device_id)
        await self.broker.publish(encode_reply(reply), topic, qos=QoS.AT_LEAST_ONCE)
        log.info(
            "device message handled",
            device_id=device_id,
            kind=reply.kind,
            outcome=reply.outcome.value,
            reason=reply.reason,
        )

    async def start(self) -> None:
        await self.broker.start()

    async def stop(self) -> None:
        try:
            async with asyncio.timeout(self.stop_timeout):
                await self.broker.stop()
        except TimeoutError:
            log.warning(
                "device gateway did not stop in time; its connection goes with the process",
                seconds=self.stop_timeout,
            )


class _DocumentationOnly:
    """The inbox of a gateway that is only documented (never started)."""

    async def check_in(self, request: CheckInRequest) -> DeviceReply:
        raise RuntimeError("a documentation-only gateway handles nothing")

    async def heartbeat(self, request: HeartbeatRequest) -> DeviceReply:
        raise RuntimeError("a documentation-only gateway handles nothing")

    async def malformed(self, kind: str, device_id: str, error: str) -> DeviceReply:
        raise RuntimeError("a documentation-only gateway handles nothing")


def documentation_broker(prefix: str, url: str | None = None) -> MQTTBroker:
    """An unconnected broker with the device subscribers, for the AsyncAPI document
    (its server: ``url``'s scheme, host and port, never its credentials)."""
    server = "mqtt://mqtt.example:1883"
    if url:
        parts = urlsplit(url)
        server = f"{parts.scheme}://{parts.hostname}:{parts.port or 1883}"
    return MqttDeviceGateway(server, prefix=prefix, inbox=_DocumentationOnly()).broker


class _TooLarge(ValueError):
    pass


def _bounded(body: Any) -> bytes:
    data = bytes(body or b"")
    if len(data) > MAX_MESSAGE_BYTES:
        raise _TooLarge(f"larger than {MAX_MESSAGE_BYTES} bytes")
    return data
