"""Stopping the device gateway is bounded: zmqtt waits for the broker's UNSUBACK with no
timeout, so a half-open MQTT connection must not hold a stopping worker forever."""

import asyncio
import time

import pytest

from hduce.adapters.mqtt.gateway import STOP_MARGIN_SECONDS, MqttDeviceGateway
from hduce.application.ports import DeviceReply


class _NeverCalled:
    async def check_in(self, request: object) -> DeviceReply:
        raise AssertionError("no message is sent in this test")

    async def heartbeat(self, request: object) -> DeviceReply:
        raise AssertionError("no message is sent in this test")

    async def malformed(self, kind: str, device_id: str, error: str) -> DeviceReply:
        raise AssertionError("no message is sent in this test")


async def test_a_broker_that_never_finishes_stopping_does_not_hold_the_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = MqttDeviceGateway(
        "mqtt://127.0.0.1:1", prefix="t", inbox=_NeverCalled(), graceful_timeout=0.1
    )
    stopped_forever = asyncio.Event()

    async def stop_waiting_for_an_unsuback_that_never_comes() -> None:
        await stopped_forever.wait()

    monkeypatch.setattr(gateway.broker, "stop", stop_waiting_for_an_unsuback_that_never_comes)
    started = time.monotonic()
    await gateway.stop()
    elapsed = time.monotonic() - started
    assert gateway.stop_timeout == 0.1 + STOP_MARGIN_SECONDS
    assert gateway.stop_timeout - 0.5 <= elapsed < gateway.stop_timeout + 2


async def test_a_broker_that_stops_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = MqttDeviceGateway("mqtt://127.0.0.1:1", prefix="t", inbox=_NeverCalled())
    calls: list[str] = []

    async def stop() -> None:
        await asyncio.sleep(0.05)
        calls.append("stopped")

    monkeypatch.setattr(gateway.broker, "stop", stop)
    await gateway.stop()
    assert calls == ["stopped"]
