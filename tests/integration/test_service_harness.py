"""The service fixtures reach real services: one real round trip each."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from email.message import EmailMessage
from typing import Any

import asyncpg
import nats
import pytest
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.rabbit import RabbitBroker, RabbitQueue
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.services import (
    SmtpServer,
    asyncpg_dsn,
    kafka_bootstrap_servers,
    temporary_database,
)

TIMEOUT = 30.0


def _unique(prefix: str) -> str:
    return f"hduce-test-{prefix}-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- PostgreSQL


async def test_postgres_fresh_database_has_btree_gist_exclusion(postgres_database: str) -> None:
    url = make_url(postgres_database)
    assert url.drivername == "postgresql+asyncpg"
    assert url.database is not None and url.database.startswith("hduce_test_")

    engine = create_async_engine(postgres_database)
    try:
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
            assert (
                await conn.execute(text("SELECT current_database()"))
            ).scalar_one() == url.database
            # A fresh database has no tables of ours.
            tables = await conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
            assert tables.scalar_one() == 0
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
            # The double-booking guard the design relies on.
            await conn.execute(
                text(
                    "CREATE TABLE slot (doctor_id int NOT NULL, during tstzrange NOT NULL, "
                    "EXCLUDE USING gist (doctor_id WITH =, during WITH &&))"
                )
            )
            await conn.execute(
                text("INSERT INTO slot VALUES (1, '[2030-01-01 09:00Z, 2030-01-01 09:30Z)')")
            )
            # Touching intervals do not overlap; another doctor may take the same time.
            await conn.execute(
                text(
                    "INSERT INTO slot VALUES (1, '[2030-01-01 09:30Z, 2030-01-01 10:00Z)'), "
                    "(2, '[2030-01-01 09:00Z, 2030-01-01 09:30Z)')"
                )
            )
        with pytest.raises(IntegrityError) as info:
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO slot VALUES (1, '[2030-01-01 09:15Z, 2030-01-01 09:45Z)')")
                )
        assert getattr(info.value.orig, "sqlstate", None) == "23P01"  # exclusion_violation
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM slot"))).scalar_one() == 3
    finally:
        await engine.dispose()


async def test_postgres_temporary_database_is_dropped(postgres_url: str) -> None:
    async with temporary_database(postgres_url, prefix="hduce_dropcheck") as url:
        name = make_url(url).database
        # A connection the test forgot to close must not keep the database alive.
        leaked = await asyncpg.connect(asyncpg_dsn(url))
        assert await leaked.fetchval("SELECT current_database()") == name
    try:
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await leaked.fetchval("SELECT 1")
    finally:
        leaked.terminate()
    admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        exists = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()
    assert exists == 0


# --------------------------------------------------------------------------- Redis


async def test_redis_set_get(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    key = _unique("key")
    value = f"value-{uuid.uuid4()}"
    try:
        assert await client.set(key, value, ex=60)
        assert await client.get(key) == value.encode()
        assert await client.delete(key) == 1
        assert await client.get(key) is None
    finally:
        await client.aclose()


# --------------------------------------------------------------------------- brokers


async def _round_trip(broker: Any, publish: Any, received: asyncio.Future[Any]) -> Any:
    async with broker:
        await broker.start()
        await publish()
        return await asyncio.wait_for(received, TIMEOUT)


async def test_rabbitmq_publish_consume(rabbitmq_url: str) -> None:
    broker = RabbitBroker(rabbitmq_url, logger=None)
    queue = RabbitQueue(_unique("queue"), auto_delete=True)
    received: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    payload = {"id": str(uuid.uuid4()), "type": "appointment.requested"}

    @broker.subscriber(queue)
    async def handle(body: dict[str, Any]) -> None:
        if not received.done():
            received.set_result(body)

    result = await _round_trip(broker, lambda: broker.publish(payload, queue=queue.name), received)
    assert result == payload


async def test_kafka_publish_consume(kafka_url: str) -> None:
    assert kafka_url.startswith("kafka://")
    broker = KafkaBroker(kafka_bootstrap_servers(kafka_url), logger=None)
    topic = _unique("topic")
    received: asyncio.Future[tuple[bytes | None, dict[str, Any]]] = (
        asyncio.get_running_loop().create_future()
    )
    payload = {"id": str(uuid.uuid4()), "type": "appointment.approved"}

    @broker.subscriber(topic, group_id=_unique("group"), auto_offset_reset="earliest")
    async def handle(body: dict[str, Any], message: KafkaMessage) -> None:
        if not received.done():
            received.set_result((message.raw_message.key, body))  # type: ignore[union-attr]

    key, body = await _round_trip(
        broker, lambda: broker.publish(payload, topic=topic, key=b"doctor-1"), received
    )
    assert body == payload
    assert key == b"doctor-1"


async def test_nats_publish_consume(nats_url: str) -> None:
    broker = NatsBroker(nats_url, logger=None)
    subject = _unique("subject").replace("-", ".")
    received: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    payload = {"id": str(uuid.uuid4()), "type": "reminder.due"}

    @broker.subscriber(subject)
    async def handle(body: dict[str, Any]) -> None:
        if not received.done():
            received.set_result(body)

    result = await _round_trip(broker, lambda: broker.publish(payload, subject), received)
    assert result == payload


async def test_nats_jetstream_publish_consume(nats_url: str) -> None:
    broker = NatsBroker(nats_url, logger=None)
    name = _unique("stream").replace("-", "_")
    subject = f"{name}.events"
    stream = JStream(name, subjects=[f"{name}.>"])
    received: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    payload = {"id": str(uuid.uuid4()), "type": "appointment.completed"}

    @broker.subscriber(subject, stream=stream, durable=f"{name}_consumer", pull_sub=PullSub())
    async def handle(body: dict[str, Any]) -> None:
        if not received.done():
            received.set_result(body)

    async def publish() -> None:
        ack = await broker.publish(payload, subject, stream=name)
        assert ack.stream == name

    try:
        result = await _round_trip(broker, publish, received)
    finally:
        client = await nats.connect(nats_url)
        try:
            await client.jetstream().delete_stream(name)
        finally:
            await client.close()
    assert result == payload


# --------------------------------------------------------------------------- SMTP


def test_smtp_delivers_mail(smtp_server: SmtpServer) -> None:
    assert smtp_server.url == f"smtp://{smtp_server.host}:{smtp_server.port}"
    recipient = f"{uuid.uuid4().hex}@patients.example"
    subject = f"Appointment approved {uuid.uuid4().hex[:8]}"
    mail = EmailMessage()
    mail["From"] = "HDUCE <no-reply@hduce.example>"
    mail["To"] = recipient
    mail["Subject"] = subject
    mail.set_content("Your appointment on 2030-01-01 at 09:00 was approved.")

    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=TIMEOUT) as client:
        refused = client.send_message(mail)
    assert refused == {}

    got = smtp_server.wait_for_sync(lambda m: recipient in m.rcpt_tos)
    assert got.mail_from == "no-reply@hduce.example"
    assert got.subject == subject
    assert "was approved" in got.text()
