"""Parsers of the URLs naming the services HDUCE connects to.

Unlike ``parsers.py`` these know which drivers the program ships and which
brokers it speaks, and build the matching settings groups.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote, urlsplit

from hduce.bootstrap.settings.groups import BrokerKind, BrokerSettings, SmtpSettings
from hduce.bootstrap.settings.parsers import Expected, Secret

# Plain schemes are what people copy from provider dashboards; the program only
# ships async drivers, so pick them rather than fail at connect time.
_DATABASE_DRIVERS = {
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite": "sqlite+aiosqlite",
}


def database_url(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or not rest:
        raise Expected("a URL such as postgresql://user:pass@host/db or sqlite+aiosqlite:///./file")
    driver = _DATABASE_DRIVERS.get(scheme.lower())
    if driver is None:
        raise Expected(
            "a postgresql+asyncpg://, postgresql://, postgres:// or sqlite+aiosqlite:// URL"
        )
    return f"{driver}://{rest}"


def redis_url(value: str) -> str:
    if "://" not in value or urlsplit(value).scheme.lower() not in {"redis", "rediss", "unix"}:
        raise Expected("a redis://, rediss:// or unix:// URL")
    return value


_BROKER_KINDS: dict[str, BrokerKind] = {
    "amqp": "rabbit",
    "amqps": "rabbit",
    "kafka": "kafka",
    "redis": "redis",
    "rediss": "redis",
    "nats": "nats",
    "tls": "nats",
}


def broker(value: str) -> BrokerSettings:
    scheme, sep, rest = value.partition("://")
    kind = _BROKER_KINDS.get(scheme.lower())
    if not sep or not rest or kind is None:
        raise Expected(
            "amqp(s):// (RabbitMQ), kafka://host:port[,host:port] (Kafka), "
            "redis(s):// (Redis Streams) or nats:// (NATS)"
        )
    if kind != "kafka":
        return BrokerSettings(kind=kind, url=value)
    servers = tuple(s.strip() for s in rest.rstrip("/").split(",") if s.strip())
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise Expected("kafka://host:port[,host:port] with a port on every server")
    if not servers:
        raise Expected("kafka://host:port[,host:port]")
    return BrokerSettings(kind=kind, url=value, servers=servers)


def mqtt(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("mqtt", "mqtts") or not parts.hostname:
        raise Expected("mqtt://[user:pass@]host[:port] or mqtts://...")
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise Expected("mqtt://[user:pass@]host[:port] with a numeric port") from None
    return value


def mqtt_topic_prefix(value: str) -> str:
    # No wildcards (+, #), no $ (reserved), no empty levels.
    if not _MQTT_PREFIX.match(value):
        raise Expected("topic levels of a-z, A-Z, 0-9, - and _, separated by /")
    return value


_MQTT_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,7}$")


def broker_prefix(value: str) -> str:
    # Dots separate the parts of every name, and NATS refuses them (and
    # wildcards) in stream and consumer names: one plain token.
    if not _BROKER_PREFIX.match(value):
        raise Expected("1 to 40 characters: a lowercase letter, then a-z, 0-9, - or _")
    return value


_BROKER_PREFIX = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")

# scheme -> (default port, implicit TLS, STARTTLS)
_SMTP_SCHEMES = {
    "smtp": (25, False, False),
    "smtps": (465, True, False),
    "smtp+starttls": (587, False, True),
}


def smtp(value: str) -> SmtpSettings:
    expected = "smtp://[user:pass@]host[:port], smtps://... or smtp+starttls://..."
    parts: SplitResult = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in _SMTP_SCHEMES or not parts.hostname:
        raise Expected(expected)
    default_port, implicit_tls, starttls = _SMTP_SCHEMES[scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise Expected(expected) from None
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=Secret(unquote(parts.password)) if parts.password else None,
        implicit_tls=implicit_tls,
        starttls=starttls,
    )
