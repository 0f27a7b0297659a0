"""Check-in kiosks over MQTT, end to end: the local Mosquitto, the worker's device
gateway (its real FastStream MQTT subscribers, on the app's container) and a real MQTT
client (aiomqtt) playing the kiosk. An admin registers the kiosk over HTTP; the kiosk
publishes the code of the patient's appointment; the reply topic says what happened
and the appointment over HTTP shows it.

Every test uses a topic prefix of its own, so runs sharing the Mosquitto never see
each other's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import aiomqtt
import msgspec
import pytest

from hduce.bootstrap.background import device_gateway
from hduce.bootstrap.settings import Settings
from tests.e2e.harness import (
    API,
    NOW,
    WEDNESDAY_10,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
)
from tests.fakes import FixedClock

DEVICES = f"{API}/admin/devices"


@dataclass
class Kiosk:
    """A device as the clinic installs it: its id, its secret, and an MQTT client."""

    id: str
    secret: str
    prefix: str
    client: aiomqtt.Client

    def topic(self, leaf: str, device_id: str | None = None) -> str:
        return f"{self.prefix}/devices/{device_id or self.id}/{leaf}"

    async def send(self, leaf: str, body: dict[str, Any], device_id: str | None = None) -> None:
        await self.client.publish(self.topic(leaf, device_id), msgspec.json.encode(body), qos=1)

    async def reply(self, timeout: float = 15.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            async for message in self.client.messages:
                assert isinstance(message.payload, bytes | bytearray)
                decoded: dict[str, Any] = msgspec.json.decode(message.payload)
                return decoded
        raise AssertionError("the reply stream ended")

    async def check_in(self, code: str, *, secret: str | None = None) -> dict[str, Any]:
        request_id = uuid4().hex
        await self.send(
            "checkin",
            {"secret": secret or self.secret, "code": code, "request_id": request_id},
        )
        reply = await self.reply()
        assert reply["request_id"] == request_id, reply
        return reply


@pytest.fixture
async def kiosk_world(
    backend: Backend, make_client: AppFactory, mqtt_url: str
) -> AsyncIterator[ClinicWorld]:
    """The seeded clinic (fixed clock at ``NOW``) with the device gateway running on the
    app's container, under a topic prefix of this test's own."""
    prefix = f"hduce-test-{uuid4().hex[:12]}"
    client = await make_client(
        backend=backend,
        clock=FixedClock(NOW),
        env={"HDUCE_MQTT_URL": mqtt_url, "HDUCE_MQTT_TOPIC_PREFIX": prefix},
    )
    world = await ClinicWorld.open(client)
    settings = await world.container.get(Settings)
    async with device_gateway(world.container, settings)():
        yield world


@contextlib.asynccontextmanager
async def installed(
    world: ClinicWorld, mqtt_url: str, name: str = "Front door"
) -> AsyncIterator[Kiosk]:
    """Register a kiosk over HTTP and connect it, listening on its reply topic."""
    response = await world.client.post(
        DEVICES,
        json={"name": name, "location": "Building A, ground floor"},
        headers=await world.auth("admin"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    device_id = body["device"]["id"]
    prefix = body["checkin_topic"].removesuffix(f"/devices/{device_id}/checkin")
    url = urlsplit(mqtt_url)
    async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883) as client:
        kiosk = Kiosk(device_id, body["secret"], prefix, client)
        await client.subscribe(kiosk.topic("reply", "+"), qos=1)
        yield kiosk


async def approved_visit(world: ClinicWorld) -> dict[str, Any]:
    booked = await world.booked("patient")
    response = await world.act("doctor", booked["id"], "approve")
    assert response.status_code == 200, response.text
    # The patient sees the code on their appointment.
    mine = await world.appointment(booked["id"], who="patient")
    assert len(mine["check_in_code"]) == 8
    return mine


async def counted(world: ClinicWorld, kind: str, outcome: str) -> float:
    """``hduce_device_messages_total{kind, outcome}`` as GET /metrics reports it."""
    text = (await world.client.get("/metrics")).text
    needle = f'hduce_device_messages_total{{kind="{kind}",outcome="{outcome}"}}'
    for line in text.splitlines():
        if line.startswith(needle):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_kiosk_checks_the_patient_in_once_and_reports_its_heartbeat(
    kiosk_world: ClinicWorld, mqtt_url: str
) -> None:
    world = kiosk_world
    visit = await approved_visit(world)
    world.clock.set(WEDNESDAY_10 - timedelta(minutes=10))  # the check-in window is open
    before = await counted(world, "checkin", "checked_in")

    async with installed(world, mqtt_url) as kiosk:
        # Typed by hand: case and a dash do not matter.
        code = visit["check_in_code"]
        reply = await kiosk.check_in(f"{code[:4].lower()}-{code[4:]}")
        assert reply["ok"] is True and reply["outcome"] == "checked_in", reply
        assert reply["appointment_id"] == visit["id"]

        seen = await world.appointment(visit["id"], who="patient")
        assert seen["status"] == "checked_in"
        assert seen["history"][-1]["actor_role"] == "system"
        assert kiosk.id in (seen["history"][-1]["reason"] or "")
        assert await counted(world, "checkin", "checked_in") == before + 1

        # The kiosk did not get the reply and sends again: success, nothing changes.
        again = await kiosk.check_in(code)
        assert again["ok"] is True and again["outcome"] == "already_checked_in", again
        assert (await world.appointment(visit["id"]))["version"] == seen["version"]

        # A heartbeat later, the admin sees the kiosk online, last seen then.
        world.clock.set(WEDNESDAY_10 - timedelta(minutes=5))
        await kiosk.send("heartbeat", {"secret": kiosk.secret})
        assert (await kiosk.reply())["outcome"] == "seen"
        listed = await world.get("admin", DEVICES)
        assert listed.status_code == 200, listed.text
        [device] = [d for d in listed.json()["items"] if d["id"] == kiosk.id]
        assert device["status"] == "online"
        assert device["last_seen_at"] == "2030-01-09T09:55:00Z"

        world.clock.set(WEDNESDAY_10 + timedelta(hours=1))  # silent for an hour
        [device] = [
            d for d in (await world.get("admin", DEVICES)).json()["items"] if d["id"] == kiosk.id
        ]
        assert device["status"] == "offline"


async def test_the_rules_of_the_api_refuse_with_a_reason(
    kiosk_world: ClinicWorld, mqtt_url: str
) -> None:
    world = kiosk_world
    visit = await approved_visit(world)
    pending = await world.booked("other_patient", starts_at=WEDNESDAY_10 + timedelta(hours=1))
    pending_code = (await world.appointment(pending["id"]))["check_in_code"]
    refused_before = await counted(world, "checkin", "refused")

    async with installed(world, mqtt_url) as kiosk:
        # Two days early: outside the window.
        early = await kiosk.check_in(visit["check_in_code"])
        assert early["ok"] is False and early["outcome"] == "refused", early
        assert "check-in is open from" in early["reason"]

        world.clock.set(WEDNESDAY_10 - timedelta(minutes=10))
        # Not approved: refused by status.
        unapproved = await kiosk.check_in(pending_code)
        assert unapproved["outcome"] == "refused" and "pending" in unapproved["reason"]
        # No such code.
        unknown = await kiosk.check_in("ZZZZ2222")
        assert unknown["outcome"] == "refused" and "no appointment" in unknown["reason"]

        assert (await world.appointment(visit["id"]))["status"] == "approved"
        assert (await world.appointment(pending["id"]))["status"] == "pending"
        assert await counted(world, "checkin", "refused") == refused_before + 3


async def test_unknown_and_revoked_devices_are_refused_and_counted(
    kiosk_world: ClinicWorld, mqtt_url: str
) -> None:
    world = kiosk_world
    visit = await approved_visit(world)
    world.clock.set(WEDNESDAY_10 - timedelta(minutes=10))
    before = await counted(world, "checkin", "unauthorized")

    async with installed(world, mqtt_url) as kiosk:
        wrong_secret = await kiosk.check_in(visit["check_in_code"], secret="not-the-secret")
        assert wrong_secret["outcome"] == "unauthorized", wrong_secret

        stranger = str(uuid4())  # never registered
        await kiosk.send(
            "checkin", {"secret": kiosk.secret, "code": visit["check_in_code"]}, stranger
        )
        assert (await kiosk.reply())["outcome"] == "unauthorized"

        revoked = await world.client.post(
            f"{DEVICES}/{kiosk.id}/revoke", headers=await world.auth("admin")
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"
        after_revoke = await kiosk.check_in(visit["check_in_code"])
        assert after_revoke["outcome"] == "unauthorized", after_revoke

        await kiosk.send("heartbeat", {"secret": kiosk.secret})
        assert (await kiosk.reply())["outcome"] == "unauthorized"

    assert (await world.appointment(visit["id"]))["status"] == "approved"
    assert await counted(world, "checkin", "unauthorized") == before + 3
    [device] = [
        d for d in (await world.get("admin", DEVICES)).json()["items"] if d["id"] == kiosk.id
    ]
    assert device["status"] == "revoked"


async def test_only_admins_manage_devices(kiosk_world: ClinicWorld) -> None:
    world = kiosk_world
    for who in ("patient", "doctor"):
        assert_problem(await world.get(who, DEVICES), 403, "forbidden")
    missing = await world.client.post(
        f"{DEVICES}/{uuid4()}/revoke", headers=await world.auth("admin")
    )
    assert_problem(missing, 404, "not-found")
    blank = await world.client.post(
        DEVICES, json={"name": " ", "location": "x"}, headers=await world.auth("admin")
    )
    assert blank.status_code == 400, blank.text


async def test_an_unreadable_message_is_answered_and_counted(
    kiosk_world: ClinicWorld, mqtt_url: str
) -> None:
    world = kiosk_world
    before = await counted(world, "checkin", "malformed")
    async with installed(world, mqtt_url) as kiosk:
        await kiosk.client.publish(kiosk.topic("checkin"), b"not json", qos=1)
        garbled = await kiosk.reply()
        assert garbled["ok"] is False and garbled["outcome"] == "malformed", garbled
        await kiosk.send("checkin", {"secret": kiosk.secret, "code": "K7MQ4XPA", "extra": 1})
        unknown_field = await kiosk.reply()
        assert unknown_field["outcome"] == "malformed" and "extra" in unknown_field["reason"]
        await kiosk.send("checkin", {"secret": "x" * 5000, "code": "K7MQ4XPA"})
        too_large = await kiosk.reply()
        assert too_large["outcome"] == "malformed" and "4096 bytes" in too_large["reason"]
        # The gateway is still there: a heartbeat is answered.
        await kiosk.send("heartbeat", {"secret": kiosk.secret})
        assert (await kiosk.reply())["outcome"] == "seen"
    assert await counted(world, "checkin", "malformed") == before + 3
