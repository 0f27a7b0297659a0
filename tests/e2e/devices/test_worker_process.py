"""The device gateway of a real ``hduce worker`` process (PostgreSQL, Redis, the local
Mosquitto), on the wall clock: a kiosk checks in a visit that starts in 20 minutes,
and the API (another process's view of the same database) shows it checked in; and a
worker that handled a check-in stops promptly on SIGTERM."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import aiomqtt
import msgspec
import pytest

from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.appointments import Appointment
from hduce.domain.identity import Actor, Role
from hduce.domain.scheduling import SchedulingPolicy, TimeSlot
from tests.e2e.devices.test_mqtt_check_in import DEVICES
from tests.e2e.harness import NOTIFICATIONS, AppFactory, Backend, ClinicWorld
from tests.e2e.server import clean_environment
from tests.e2e.split_support import WorkerProcess, wait_started, worker_processes
from tests.fakes import FixedClock
from tests.integration.brokers.support import wait_until
from tests.unit.adapters.contract import ALWAYS_OPEN


@pytest.fixture
async def world(production: Backend, make_client: AppFactory) -> AsyncIterator[ClinicWorld]:
    now = datetime.now(UTC).replace(microsecond=0)
    yield await ClinicWorld.open(await make_client(backend=production, clock=FixedClock(now)))


async def visit_in_twenty_minutes(world: ClinicWorld) -> Appointment:
    """An approved visit starting 20 minutes from now, booked two hours ago (any day,
    whatever the doctors' weekly hours: stored through the domain, not the API)."""
    now = datetime.now(UTC)
    start = now + timedelta(minutes=20)
    admin = world.people["admin"]
    visit = Appointment.book(
        actor=Actor(Role.ADMIN, admin.id),
        patient_id=world.people["patient"].id,
        doctor_id=world.people["doctor"].id,
        slot=TimeSlot(start, start + timedelta(minutes=30)),
        reason="check-up",
        now=now - timedelta(hours=2),
        policy=SchedulingPolicy(),
        availability=ALWAYS_OPEN,
        existing=(),
        approve=True,
    )
    uow_factory = await world.container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        await uow.appointments.add(visit)
        await uow.commit()
    return visit


@pytest.mark.parametrize("events", ["in-process", "rabbitmq"])
async def test_a_worker_process_checks_in_for_a_kiosk(
    world: ClinicWorld,
    production: Backend,
    mqtt_url: str,
    tmp_path: Path,
    events: str,
    request: pytest.FixtureRequest,
) -> None:
    """Without an event broker the worker runs its services itself; with one it is a
    FastStream application, whose startup hook starts the device gateway."""
    prefix = f"hduce-test-{uuid4().hex[:12]}"
    broker: dict[str, str] = {}
    if events == "rabbitmq":
        broker = {
            "HDUCE_BROKER_URL": request.getfixturevalue("rabbitmq_url"),
            "HDUCE_BROKER_PREFIX": f"t{uuid4().hex[:12]}",
        }
    visit = await visit_in_twenty_minutes(world)
    registered = await world.client.post(
        DEVICES,
        json={"name": "Door", "location": "Hall"},
        headers=await world.auth("admin"),
    )
    assert registered.status_code == 201, registered.text
    device_id, secret = registered.json()["device"]["id"], registered.json()["secret"]

    env = clean_environment(
        **production.env,
        HDUCE_MQTT_URL=mqtt_url,
        HDUCE_MQTT_TOPIC_PREFIX=prefix,
        HDUCE_LOG_FORMAT="json",
        **broker,
    )
    with worker_processes(1, tmp_path, env) as workers:
        wait_started(workers)
        [worker] = workers
        assert any(line.get("event") == "device gateway started" for line in worker.lines())
        url = urlsplit(mqtt_url)
        async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883) as kiosk:
            await kiosk.subscribe(f"{prefix}/devices/{device_id}/reply", qos=1)
            topic = f"{prefix}/devices/{device_id}/checkin"
            await kiosk.publish(
                topic,
                msgspec.json.encode({"secret": secret, "code": visit.check_in_code}),
                qos=1,
            )
            reply = await _next(kiosk)
        assert reply["outcome"] == "checked_in", (reply, worker.log())
        assert await _counted(worker, "checked_in") == 1

        # The doctor hears of it ("Patient arrived"): the worker relays the check-in's
        # event and its notification consumer handles it. Waited for before stopping
        # the worker, which is then idle.
        async def doctor_told() -> bool:
            inbox = (await world.get("doctor", NOTIFICATIONS)).json()["items"]
            return "Patient arrived" in {n["title"] for n in inbox}

        await wait_until(doctor_told, timeout=30, what="the doctor told of the arrival")

    shown = await world.appointment(str(visit.id), who="patient")
    assert shown["status"] == "checked_in"
    [device] = (await world.get("admin", DEVICES)).json()["items"]
    assert device["last_seen_at"] is not None


#: From SIGTERM to "device gateway stopped": the worker's own shutdown path (measured
#: under 1.5 s, also with the check-in still being handled at SIGTERM).
GATEWAY_STOPPED_WITHIN = 5.0
#: From SIGTERM to the end of the process: measured up to ~8 s on a loaded two-core
#: machine, nearly all of it the interpreter's final garbage collection (py-spy:
#: ``gc_collect_main`` after the event loop closed). A hang, as was seen twice, lasts
#: until a supervisor's kill (``split_support.stop`` kills at 30 s).
EXITED_WITHIN = 20.0


@pytest.mark.parametrize("events", ["in-process", "rabbitmq"])
async def test_a_worker_that_handled_a_check_in_stops_promptly_on_sigterm(
    world: ClinicWorld,
    production: Backend,
    mqtt_url: str,
    tmp_path: Path,
    events: str,
    request: pytest.FixtureRequest,
) -> None:
    prefix = f"hduce-test-{uuid4().hex[:12]}"
    broker: dict[str, str] = {}
    if events == "rabbitmq":
        broker = {
            "HDUCE_BROKER_URL": request.getfixturevalue("rabbitmq_url"),
            "HDUCE_BROKER_PREFIX": f"t{uuid4().hex[:12]}",
        }
    visit = await visit_in_twenty_minutes(world)
    registered = await world.client.post(
        DEVICES, json={"name": "Door", "location": "Hall"}, headers=await world.auth("admin")
    )
    assert registered.status_code == 201, registered.text
    device_id, secret = registered.json()["device"]["id"], registered.json()["secret"]
    env = clean_environment(
        **production.env,
        HDUCE_MQTT_URL=mqtt_url,
        HDUCE_MQTT_TOPIC_PREFIX=prefix,
        HDUCE_LOG_FORMAT="json",
        **broker,
    )
    with worker_processes(1, tmp_path, env) as workers:
        wait_started(workers)
        [worker] = workers
        url = urlsplit(mqtt_url)
        async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883) as kiosk:
            await kiosk.subscribe(f"{prefix}/devices/{device_id}/reply", qos=1)
            await kiosk.publish(
                f"{prefix}/devices/{device_id}/checkin",
                msgspec.json.encode({"secret": secret, "code": visit.check_in_code}),
                qos=1,
            )
            reply = await _next(kiosk)
        assert reply["outcome"] == "checked_in", (reply, worker.log())

        signalled_at = datetime.now(UTC)
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        try:
            code = worker.process.wait(timeout=EXITED_WITHIN)
        except subprocess.TimeoutExpired:
            stacks = _stacks(worker.process.pid)  # where it hangs, before it is killed
            worker.process.kill()
            worker.process.wait()
            raise AssertionError(
                f"no exit {EXITED_WITHIN} s after SIGTERM:\n{stacks}\n{worker.log()}"
            ) from None
        took = time.monotonic() - started
    assert code == 0, worker.log()
    [stopped] = [
        datetime.fromisoformat(line["timestamp"])
        for line in worker.lines()
        if line.get("event") == "device gateway stopped"
    ]
    gateway_took = (stopped - signalled_at).total_seconds()
    assert gateway_took < GATEWAY_STOPPED_WITHIN, (gateway_took, worker.log())
    assert took < EXITED_WITHIN, (took, worker.log())


def _stacks(pid: int) -> str:
    """The Python stacks of a running process (py-spy, a development dependency)."""
    beside = Path(sys.executable).with_name("py-spy")
    tool = str(beside) if beside.exists() else shutil.which("py-spy")
    if tool is None:
        return "(py-spy not found: no stacks)"
    dumped = subprocess.run(
        [tool, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30, check=False
    )
    return dumped.stdout + dumped.stderr


async def _next(client: aiomqtt.Client) -> dict[str, object]:
    async with asyncio.timeout(20):
        async for message in client.messages:
            assert isinstance(message.payload, bytes | bytearray)
            decoded: dict[str, object] = msgspec.json.decode(message.payload)
            return decoded
    raise AssertionError("no reply")


async def _counted(worker: WorkerProcess, outcome: str) -> float:
    return worker.counter("hduce_device_messages_total", kind="checkin", outcome=outcome)
