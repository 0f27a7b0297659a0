"""The split deployment: an API process only writes (events stay in the outbox);
workers relay, consume, notify and deliver. Two workers at once on PostgreSQL and
Redis still produce each notification exactly once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import upgrade_database
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.demo import SeedDemo
from hduce.application.messaging.outbox_relay import OutboxRelay
from hduce.application.ports import PageRequest, UnitOfWorkFactory, UserQuery
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Role
from hduce.domain.notifications import Channel, DeliveryStatus
from hduce.entrypoints.worker.runner import run_worker


def _metadata(value: object) -> dict[str, object]:
    return json.loads(value) if isinstance(value, str) else dict(value)  # type: ignore[call-overload]


async def _wait_until(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_api_writes_and_two_workers_notify_exactly_once(
    postgres_database: str, redis_url: str
) -> None:
    await upgrade_database(postgres_database)
    settings = Settings.from_env(
        {
            "HDUCE_DATABASE_URL": postgres_database,
            "HDUCE_REDIS_URL": redis_url,
            "HDUCE_JWT_SECRET": "split-deployment-secret-0123456789abcdef",
        }
    )
    api = build_container(settings)
    try:
        await (await api.get(SeedDemo))("demo-password-0123")
        uow_factory = await api.get(UnitOfWorkFactory)  # type: ignore[type-abstract]
        async with uow_factory() as uow:
            patients = (
                await uow.users.list(UserQuery(role=Role.PATIENT, page=PageRequest(100)))
            ).items
            doctors = (
                await uow.users.list(UserQuery(role=Role.DOCTOR, page=PageRequest(100)))
            ).items
        patient = next(p for p in patients if p.phone)
        doctor = next(d for d in doctors if d.timezone == "Europe/Madrid")
        # A weekday at 12:00 doctor-local, far enough ahead for any policy.
        day = (datetime.now(UTC) + timedelta(days=14)).date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        starts_at = datetime.combine(day, time(12, 0), tzinfo=ZoneInfo("Europe/Madrid"))
        booked = await (await api.get(BookAppointment))(
            BookAppointmentCommand(
                actor=patient.actor, doctor_id=doctor.id, starts_at=starts_at, reason="Check-up"
            )
        )
        relay = await api.get(OutboxRelay)
        assert (await relay.stats()).backlog > 0  # the API process relays nothing itself

        stop = asyncio.Event()
        workers = [asyncio.create_task(run_worker(settings, stop=stop)) for _ in range(2)]
        try:

            async def delivered() -> bool:
                async with uow_factory() as uow:
                    mine = await uow.notifications.list_for(patient.id, page=PageRequest(100))
                    pending = await uow.notifications.pending_delivery(limit=1000)
                return (
                    (await relay.stats()).backlog == 0
                    and not pending
                    and any(n.metadata.get("appointment_id") == str(booked.id) for n in mine.items)
                )

            await _wait_until(delivered)
        finally:
            stop.set()
            await asyncio.gather(*workers)

        async with uow_factory() as uow:
            patient_inbox = await uow.notifications.list_for(patient.id, page=PageRequest(100))
            doctor_inbox = await uow.notifications.list_for(doctor.id, page=PageRequest(100))
        about_booking = [
            n
            for n in (*patient_inbox.items, *doctor_inbox.items)
            if n.metadata.get("appointment_id") == str(booked.id)
        ]
        titles = Counter((n.recipient_id, n.title) for n in about_booking)
        assert titles == {
            (patient.id, "Appointment request submitted"): 1,
            (doctor.id, "New appointment request"): 1,
        }
        assert all(n.channel is Channel.IN_APP for n in about_booking)
        # Email to both and SMS to the patient (who has a phone) went out once each.
        engine = await api.get(AsyncEngine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT recipient_id, channel, status, metadata FROM notifications "
                        "WHERE channel <> 'in_app'"
                    )
                )
            ).all()
        sent = Counter(
            (UUID(str(row.recipient_id)), row.channel, row.status)
            for row in rows
            if _metadata(row.metadata).get("appointment_id") == str(booked.id)
        )
        assert sent == {
            (patient.id, "email", "sent"): 1,
            (patient.id, "sms", "sent"): 1,
            (doctor.id, "email", "sent"): 1,
        }
        keys = [n.dedupe_key for n in (*patient_inbox.items, *doctor_inbox.items)]
        assert len(keys) == len(set(keys))
        assert all(n.status is DeliveryStatus.SENT for n in about_booking)
    finally:
        await api.close()
