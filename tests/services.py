"""Real services for integration and end-to-end tests.

Every service is found the same way (see ``tests/conftest.py`` for the fixtures):

1. ``HDUCE_TEST_<SERVICE>_URL`` is set: use that service (it must accept TCP connections);
2. else, a Docker engine answers: start a throwaway container with testcontainers;
3. else: skip the test, naming the variable to set.

With ``HDUCE_TEST_REQUIRE_SERVICES=1`` (CI sets it) step 3, or an unreachable URL,
fails the test instead, so CI never passes by skipping.

URL formats (the same ones the application's settings take):

==========  ===========================  ====================================================
service     variable                     example
==========  ===========================  ====================================================
PostgreSQL  HDUCE_TEST_POSTGRES_URL      postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
                                         (an *admin* URL: tests create their own databases)
Redis       HDUCE_TEST_REDIS_URL         redis://127.0.0.1:6379/0
RabbitMQ    HDUCE_TEST_RABBITMQ_URL      amqp://guest:guest@127.0.0.1:5672/
Kafka       HDUCE_TEST_KAFKA_URL         kafka://127.0.0.1:19092  (bare ``host:port`` and
                                         comma-separated lists are accepted; the fixture
                                         always yields the ``kafka://`` form)
NATS        HDUCE_TEST_NATS_URL          nats://127.0.0.1:4222
MQTT        HDUCE_TEST_MQTT_URL          mqtt://127.0.0.1:1883  (Mosquitto, MQTT 5; tests use
                                         a unique topic prefix each)
SMTP        HDUCE_TEST_SMTP_URL          smtp://127.0.0.1:1025  (optional: without it an
                                         in-process aiosmtpd server is started; no Docker)
==========  ===========================  ====================================================

Container images can be overridden with ``HDUCE_TEST_<SERVICE>_IMAGE``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

REQUIRE_ENV = "HDUCE_TEST_REQUIRE_SERVICES"
_TRUE = {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------- policy


def services_required() -> bool:
    """True when a missing service must fail the test instead of skipping it."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in _TRUE


def unavailable(service: str, reason: str) -> NoReturn:
    """Skip (or, under ``HDUCE_TEST_REQUIRE_SERVICES=1``, fail) for a missing service."""
    message = f"{service}: {reason}"
    if services_required():
        pytest.fail(f"{message} [{REQUIRE_ENV}=1 turns this skip into a failure]", pytrace=False)
    pytest.skip(message)


@functools.cache
def docker_available() -> bool:
    """Whether a Docker engine answers (checked once per test session)."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


# --------------------------------------------------------------------------- URLs


def redact(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def endpoints(url: str, default_port: int) -> list[tuple[str, int]]:
    """``(host, port)`` pairs named by a service URL (comma-separated hosts allowed)."""
    netloc = urlsplit(url if "://" in url else f"tcp://{url}").netloc
    hosts = netloc.rsplit("@", 1)[-1]
    result: list[tuple[str, int]] = []
    for item in hosts.split(","):
        item = item.strip()
        if not item:
            continue
        parsed = urlsplit(f"tcp://{item}")
        result.append((parsed.hostname or "127.0.0.1", parsed.port or default_port))
    return result


def port_open(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def normalize_kafka_url(value: str) -> str:
    """``host:port[,host:port]`` or ``kafka://...`` -> ``kafka://host:port[,...]``."""
    value = value.strip()
    return value if "://" in value else f"kafka://{value}"


def kafka_bootstrap_servers(url: str) -> str:
    """``kafka://h1:9092,h2:9092`` -> ``h1:9092,h2:9092`` (what aiokafka/FastStream take)."""
    return url.split("://", 1)[1] if "://" in url else url


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (any driver) as a plain DSN for ``asyncpg.connect``."""
    from sqlalchemy.engine import make_url

    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    env_var: str
    default_port: int
    container: Callable[[], AbstractContextManager[str]]
    normalize: Callable[[str], str] | None = None


@contextmanager
def provide(spec: ServiceSpec) -> Iterator[str]:
    """Yield a URL for ``spec``: from the environment, a container, or skip/fail."""
    configured = os.environ.get(spec.env_var, "").strip()
    if configured:
        url = spec.normalize(configured) if spec.normalize else configured
        for host, port in endpoints(url, spec.default_port):
            if not port_open(host, port):
                unavailable(
                    spec.name,
                    f"{spec.env_var}={redact(url)} is set but {host}:{port} "
                    "does not accept connections",
                )
        yield url
        return
    if docker_available():
        with ExitStack() as stack:
            try:
                url = stack.enter_context(spec.container())
            except Exception as exc:
                unavailable(spec.name, f"could not start a container: {exc!r}")
            yield url
        return
    unavailable(spec.name, f"set {spec.env_var} or run a Docker engine")


def _image(service: str, default: str) -> str:
    return os.environ.get(f"HDUCE_TEST_{service.upper()}_IMAGE", default)


@contextmanager
def postgres_container() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    # The official image ships contrib, so btree_gist is available.
    with PostgresContainer(_image("postgres", "postgres:15"), driver="asyncpg") as pg:
        yield pg.get_connection_url()


@contextmanager
def redis_container() -> Iterator[str]:
    from testcontainers.community.redis import RedisContainer

    with RedisContainer(_image("redis", "redis:7")) as redis:
        yield f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(redis.port)}/0"


@contextmanager
def rabbitmq_container() -> Iterator[str]:
    from testcontainers.community.rabbitmq import RabbitMqContainer

    with RabbitMqContainer(_image("rabbitmq", "rabbitmq:3.13")) as rabbit:
        host = rabbit.get_container_host_ip()
        port = rabbit.get_exposed_port(rabbit.port)
        yield f"amqp://{rabbit.username}:{rabbit.password}@{host}:{port}/"


@contextmanager
def kafka_container() -> Iterator[str]:
    from testcontainers.community.kafka import KafkaContainer

    with KafkaContainer(_image("kafka", "confluentinc/cp-kafka:7.6.0")).with_kraft() as kafka:
        yield f"kafka://{kafka.get_bootstrap_server()}"


@contextmanager
def nats_container() -> Iterator[str]:
    from testcontainers.community.nats import NatsContainer

    with NatsContainer(_image("nats", "nats:2"), jetstream=True) as nats:
        yield nats.nats_uri()


@contextmanager
def mosquitto_container() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = DockerContainer(_image("mqtt", "eclipse-mosquitto:2")).with_exposed_ports(1883)
    # Mosquitto 2 listens on localhost only unless told otherwise.
    container = container.with_command("mosquitto -c /mosquitto-no-auth.conf")
    with container:
        wait_for_logs(container, "running")
        yield f"mqtt://{container.get_container_host_ip()}:{container.get_exposed_port(1883)}"


POSTGRES = ServiceSpec("postgres", "HDUCE_TEST_POSTGRES_URL", 5432, postgres_container)
REDIS = ServiceSpec("redis", "HDUCE_TEST_REDIS_URL", 6379, redis_container)
RABBITMQ = ServiceSpec("rabbitmq", "HDUCE_TEST_RABBITMQ_URL", 5672, rabbitmq_container)
KAFKA = ServiceSpec("kafka", "HDUCE_TEST_KAFKA_URL", 9092, kafka_container, normalize_kafka_url)
NATS = ServiceSpec("nats", "HDUCE_TEST_NATS_URL", 4222, nats_container)
MQTT = ServiceSpec("mqtt", "HDUCE_TEST_MQTT_URL", 1883, mosquitto_container)
SMTP_ENV = "HDUCE_TEST_SMTP_URL"


# --------------------------------------------------------------------------- PostgreSQL


@asynccontextmanager
async def temporary_database(admin_url: str, *, prefix: str = "hduce_test") -> AsyncIterator[str]:
    """Create a uniquely named database on the server of ``admin_url``; drop it afterwards.

    Yields the new database's SQLAlchemy URL (``postgresql+asyncpg://...``). The drop
    uses ``WITH (FORCE)``, so connections a test leaked do not keep it alive.
    """
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    dsn = asyncpg_dsn(admin_url)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    def text(self) -> str:
        """The plain-text body (or the first text part of a multipart mail)."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]


class RecordingHandler:
    """aiosmtpd handler that keeps every accepted message (thread-safe)."""

    def __init__(self) -> None:
        self._messages: list[ReceivedMail] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message,  # type: ignore[arg-type]
            raw=raw,
        )
        with self._lock:
            self._messages.append(mail)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def find(self, predicate: Callable[[ReceivedMail], bool]) -> list[ReceivedMail]:
        return [mail for mail in self.messages if predicate(mail)]


@dataclass
class SmtpServer:
    """What the ``smtp_server`` fixture yields.

    ``handler`` is ``None`` when ``HDUCE_TEST_SMTP_URL`` points at an external server,
    whose mailbox the tests cannot read.
    """

    url: str
    host: str
    port: int
    handler: RecordingHandler | None = field(default=None)

    @property
    def messages(self) -> list[ReceivedMail]:
        return [] if self.handler is None else self.handler.messages

    def _require_handler(self) -> RecordingHandler:
        if self.handler is None:
            unavailable(
                "smtp",
                f"{SMTP_ENV} points at an external server whose mailbox this test cannot "
                "read; unset it to use the in-process server",
            )
        return self.handler

    def wait_for_sync(
        self, predicate: Callable[[ReceivedMail], bool], *, timeout: float = 10.0
    ) -> ReceivedMail:
        handler = self._require_handler()
        deadline = time.monotonic() + timeout
        while True:
            found = handler.find(predicate)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no matching mail within {timeout}s; received: "
                    f"{[(m.rcpt_tos, m.subject) for m in handler.messages]}"
                )
            time.sleep(0.05)

    async def wait_for(
        self, predicate: Callable[[ReceivedMail], bool], *, timeout: float = 10.0
    ) -> ReceivedMail:
        handler = self._require_handler()
        deadline = time.monotonic() + timeout
        while True:
            found = handler.find(predicate)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no matching mail within {timeout}s; received: "
                    f"{[(m.rcpt_tos, m.subject) for m in handler.messages]}"
                )
            await asyncio.sleep(0.05)


def _accept_any_login(*_args: Any, **_kwargs: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)


@contextmanager
def provide_smtp() -> Iterator[SmtpServer]:
    configured = os.environ.get(SMTP_ENV, "").strip()
    if configured:
        ((host, port),) = endpoints(configured, 25)
        if not port_open(host, port):
            unavailable(
                "smtp",
                f"{SMTP_ENV}={redact(configured)} is set but {host}:{port} does not accept connections",
            )
        yield SmtpServer(url=configured, host=host, port=port)
        return

    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    host = "127.0.0.1"
    last_error: Exception | None = None
    for _ in range(5):  # a free port can be taken between probing and binding
        port = free_port(host)
        controller = Controller(
            handler,
            hostname=host,
            port=port,
            ready_timeout=10,
            # Accept AUTH (any credentials) over plain text so adapters configured
            # with a username and password can be tested too.
            authenticator=_accept_any_login,
            auth_require_tls=False,
        )
        try:
            controller.start()
        except Exception as exc:
            last_error = exc
            continue
        try:
            yield SmtpServer(url=f"smtp://{host}:{port}", host=host, port=port, handler=handler)
        finally:
            controller.stop()
        return
    unavailable("smtp", f"could not start an in-process aiosmtpd server: {last_error!r}")


@contextmanager
def asgi_server_in_thread(app: Any, port: int, *, name: str) -> Iterator[None]:
    """Serve an ASGI ``app`` with uvicorn on 127.0.0.1:``port`` in a daemon thread
    until the block ends (local stand-ins for outside services: an OpenID provider,
    an SMS API)."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the local {name} did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
