"""Configuration from ``HDUCE_*`` environment variables.

One table (``_SPECS``) declares every variable: its default, its description
and its parser. ``Settings.from_env`` and the documentation (``SETTINGS_DOC``,
``render_settings_markdown``) both read that table, so the README cannot drift
from what the program accepts.

Every refusal is a ``SettingsError`` whose message is one line naming the
variable, the offending value (secrets redacted) and what was expected.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import SplitResult, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

ENV_PREFIX = "HDUCE_"
# Test fixtures read their own service URLs (HDUCE_TEST_POSTGRES_URL, ...).
TEST_ENV_PREFIX = "HDUCE_TEST_"
MIN_JWT_SECRET_LENGTH = 32

Environment = Literal["development", "production"]
LogFormat = Literal["auto", "json", "console"]
BrokerKind = Literal["rabbit", "kafka", "redis", "nats"]
DatabaseBackend = Literal["sqlite", "postgresql"]
JwtAlgorithm = Literal["HS256", "RS256", "ES256", "EdDSA", "Ed25519"]
ASYMMETRIC_JWT_ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA", "Ed25519"})
GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"


class SettingsError(ValueError):
    """A configuration value is missing, malformed or unknown (one-line message)."""


class Secret:
    """A string that never shows itself in ``repr``/``str`` (logs, tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Bytes: compare_digest refuses non-ASCII str.
        return isinstance(other, Secret) and secrets.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(self._value)


class BrokerSettings(msgspec.Struct, frozen=True):
    kind: BrokerKind
    url: str
    # Kafka takes a list of bootstrap servers rather than a URL.
    servers: tuple[str, ...] = ()


class SmtpSettings(msgspec.Struct, frozen=True):
    host: str
    port: int
    username: str | None
    password: Secret | None
    # smtps:// = TLS from the first byte; smtp+starttls:// = upgrade after EHLO.
    implicit_tls: bool
    starttls: bool


class SmsSettings(msgspec.Struct, frozen=True):
    api_url: str
    account_sid: str
    auth_token: Secret
    from_number: str


class GoogleSettings(msgspec.Struct, frozen=True):
    client_id: str
    client_secret: Secret
    redirect_uri: str
    discovery_url: str = GOOGLE_DISCOVERY_URL


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Validated configuration. Build it with ``Settings.from_env``: the defaults
    live in ``_SPECS`` only, so tests pass a mapping instead of constructing this."""

    env: Environment
    http_host: str
    http_port: int
    http_workers: int
    database_url: str
    redis_url: str | None
    broker: BrokerSettings | None
    log_level: str
    log_format: LogFormat
    jwt_secret: Secret
    # True when no secret was configured and one was generated for this process:
    # tokens die with the process and differ between processes.
    jwt_secret_is_ephemeral: bool
    smtp: SmtpSettings | None
    email_from: str
    sms: SmsSettings | None
    outbox_poll_interval: float
    reminder_offsets: tuple[timedelta, ...]
    default_timezone: str
    # Identity and access (issue #4).
    jwt_algorithm: JwtAlgorithm = "HS256"
    jwt_private_key_file: str | None = None
    jwt_issuer: str = "hduce"
    jwt_audience: str = "hduce-api"
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    google: GoogleSettings | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        _reject_unknown(environ)
        values = {spec.name: spec.resolve(environ) for spec in _SPECS}
        env = cast(Environment, values["HDUCE_ENV"])
        jwt_secret = cast(Secret | None, values["HDUCE_JWT_SECRET"])
        jwt_algorithm = cast(JwtAlgorithm, values["HDUCE_JWT_ALGORITHM"])
        asymmetric = jwt_algorithm in ASYMMETRIC_JWT_ALGORITHMS
        if jwt_secret is None and env == "production" and not asymmetric:
            raise SettingsError("HDUCE_JWT_SECRET is unset: required when HDUCE_ENV=production")
        if asymmetric and values["HDUCE_JWT_PRIVATE_KEY_FILE"] is None:
            raise SettingsError(
                f"HDUCE_JWT_PRIVATE_KEY_FILE is unset: required when HDUCE_JWT_ALGORITHM={jwt_algorithm}"
            )
        return cls(
            env=env,
            http_host=values["HDUCE_HTTP_HOST"],
            http_port=values["HDUCE_HTTP_PORT"],
            http_workers=values["HDUCE_HTTP_WORKERS"],
            database_url=values["HDUCE_DATABASE_URL"],
            redis_url=values["HDUCE_REDIS_URL"],
            broker=values["HDUCE_BROKER_URL"],
            log_level=values["HDUCE_LOG_LEVEL"],
            log_format=values["HDUCE_LOG_FORMAT"],
            jwt_secret=jwt_secret or Secret(secrets.token_urlsafe(48)),
            jwt_secret_is_ephemeral=jwt_secret is None,
            smtp=values["HDUCE_SMTP_URL"],
            email_from=values["HDUCE_EMAIL_FROM"],
            sms=_sms_from(values),
            outbox_poll_interval=values["HDUCE_OUTBOX_POLL_INTERVAL"],
            reminder_offsets=values["HDUCE_REMINDER_OFFSETS"],
            default_timezone=values["HDUCE_DEFAULT_TIMEZONE"],
            jwt_algorithm=jwt_algorithm,
            jwt_private_key_file=values["HDUCE_JWT_PRIVATE_KEY_FILE"] if asymmetric else None,
            jwt_issuer=values["HDUCE_JWT_ISSUER"],
            jwt_audience=values["HDUCE_JWT_AUDIENCE"],
            access_token_ttl=values["HDUCE_ACCESS_TOKEN_TTL"],
            refresh_token_ttl=values["HDUCE_REFRESH_TOKEN_TTL"],
            google=_google_from(values),
        )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def database_backend(self) -> DatabaseBackend:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    def summary(self) -> dict[str, object]:
        """What is safe to log at startup: no passwords, no tokens."""
        return {
            "env": self.env,
            "database": redact_url(self.database_url),
            "redis": redact_url(self.redis_url) if self.redis_url else "in-memory",
            "broker": f"{self.broker.kind} {redact_url(self.broker.url)}"
            if self.broker
            else "in-process",
            "smtp": f"{self.smtp.host}:{self.smtp.port}" if self.smtp else "log sink",
            "sms": self.sms.api_url if self.sms else "log sink",
            "jwt": self.jwt_algorithm,
            "google_sign_in": "on" if self.google else "off",
        }


# --------------------------------------------------------------------------- parsing


class _Expected(Exception):
    """Raised by a parser; the text completes 'expected ...'."""


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    default: str | None
    description: str
    parse: Callable[[str], Any]
    # How a refused value is echoed in the error; secrets must not reach logs.
    show: Callable[[str], str] = repr
    shown_default: str | None = None

    def resolve(self, environ: Mapping[str, str]) -> Any:
        raw = environ.get(self.name)
        # An empty value (``HDUCE_REDIS_URL=`` in a compose file) means "unset".
        value = raw.strip() if raw is not None and raw.strip() else self.default
        if value is None:
            return None
        try:
            return self.parse(value)
        except _Expected as exc:
            raise SettingsError(f"{self.name}={self.show(value)}: expected {exc}") from None


def _hidden(value: str) -> str:
    return f"<redacted, {len(value)} characters>"


def _url_without_password(value: str) -> str:
    return repr(redact_url(value))


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``; for logs and error messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise _Expected(f"an integer {low}..{high}") from None
        if not low <= number <= high:
            raise _Expected(f"an integer {low}..{high}")
        return number

    return parse


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.lower() not in choices:
            raise _Expected("one of " + ", ".join(choices))
        return value.lower()

    return parse


def _host(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", value):
        raise _Expected("a host name or IP address such as 127.0.0.1 or 0.0.0.0")
    return value.strip("[]")


def _log_level(value: str) -> str:
    level = value.upper()
    level = "WARNING" if level == "WARN" else level
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise _Expected("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _database_url(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or not rest:
        raise _Expected(
            "a URL such as postgresql://user:pass@host/db or sqlite+aiosqlite:///./file"
        )
    # Plain schemes are what people copy from provider dashboards; the program
    # only ships async drivers, so pick them rather than fail at connect time.
    driver_for = {
        "postgresql+asyncpg": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "sqlite+aiosqlite": "sqlite+aiosqlite",
        "sqlite": "sqlite+aiosqlite",
    }
    normalised = driver_for.get(scheme.lower())
    if normalised is None:
        raise _Expected(
            "a postgresql+asyncpg://, postgresql://, postgres:// or sqlite+aiosqlite:// URL"
        )
    return f"{normalised}://{rest}"


def _redis_url(value: str) -> str:
    if "://" not in value or urlsplit(value).scheme.lower() not in {"redis", "rediss", "unix"}:
        raise _Expected("a redis://, rediss:// or unix:// URL")
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


def _broker(value: str) -> BrokerSettings:
    scheme, sep, rest = value.partition("://")
    kind = _BROKER_KINDS.get(scheme.lower())
    if not sep or not rest or kind is None:
        raise _Expected(
            "amqp(s):// (RabbitMQ), kafka://host:port[,host:port] (Kafka), "
            "redis(s):// (Redis Streams) or nats:// (NATS)"
        )
    if kind != "kafka":
        return BrokerSettings(kind=kind, url=value)
    servers = tuple(s.strip() for s in rest.rstrip("/").split(",") if s.strip())
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise _Expected("kafka://host:port[,host:port] with a port on every server")
    if not servers:
        raise _Expected("kafka://host:port[,host:port]")
    return BrokerSettings(kind=kind, url=value, servers=servers)


def _jwt_secret(value: str) -> Secret:
    if len(value) < MIN_JWT_SECRET_LENGTH:
        raise _Expected(
            f"at least {MIN_JWT_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`)"
        )
    return Secret(value)


_SMTP_SCHEMES = {
    "smtp": (25, False, False),
    "smtps": (465, True, False),
    "smtp+starttls": (587, False, True),
}


def _smtp(value: str) -> SmtpSettings:
    expected = "smtp://[user:pass@]host[:port], smtps://... or smtp+starttls://..."
    parts: SplitResult = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in _SMTP_SCHEMES or not parts.hostname:
        raise _Expected(expected)
    default_port, implicit_tls, starttls = _SMTP_SCHEMES[scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise _Expected(expected) from None
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=Secret(unquote(parts.password)) if parts.password else None,
        implicit_tls=implicit_tls,
        starttls=starttls,
    )


def _email_from(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address:
        raise _Expected('an address such as "HDUCE <no-reply@example.org>"')
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise _Expected("an http:// or https:// URL")
    return value.rstrip("/")


def _text(value: str) -> str:
    return value


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def _duration(value: str) -> timedelta:
    """``90`` (seconds), ``500ms``, ``1h30m``, ``2d``."""
    text = value.strip().lower()
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    if not text or _DURATION.sub("", text):
        raise ValueError(text)
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text)))


def _poll_interval(value: str) -> float:
    expected = "seconds > 0 and <= 3600, e.g. 0.5 or 500ms"
    try:
        seconds = _duration(value).total_seconds()
    except ValueError:
        raise _Expected(expected) from None
    if not 0 < seconds <= 3600:
        raise _Expected(expected)
    return seconds


def _reminder_offsets(value: str) -> tuple[timedelta, ...]:
    expected = 'a comma list of positive durations such as "24h,1h" (or "none")'
    if value.lower() in {"none", "off"}:
        return ()
    try:
        offsets = {_duration(item) for item in value.split(",")}
    except ValueError:
        raise _Expected(expected) from None
    if any(offset <= timedelta(0) for offset in offsets):
        raise _Expected(expected)
    return tuple(sorted(offsets, reverse=True))


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Expected("an IANA time zone such as UTC or America/Guayaquil") from None
    return value


_SMS_VARS = ("HDUCE_SMS_API_URL", "HDUCE_SMS_ACCOUNT_SID", "HDUCE_SMS_AUTH_TOKEN", "HDUCE_SMS_FROM")


def _sms_from(values: Mapping[str, Any]) -> SmsSettings | None:
    missing = [name for name in _SMS_VARS if values[name] is None]
    if len(missing) == len(_SMS_VARS):
        return None
    if missing:
        given = next(name for name in _SMS_VARS if values[name] is not None)
        raise SettingsError(
            f"{missing[0]} is unset: expected all of {', '.join(_SMS_VARS)} or none ({given} is set)"
        )
    return SmsSettings(
        api_url=values["HDUCE_SMS_API_URL"],
        account_sid=values["HDUCE_SMS_ACCOUNT_SID"],
        auth_token=values["HDUCE_SMS_AUTH_TOKEN"],
        from_number=values["HDUCE_SMS_FROM"],
    )


def _jwt_algorithm(value: str) -> str:
    for name in ("HS256", "RS256", "ES256", "EdDSA", "Ed25519"):
        if value.lower() == name.lower():
            return name
    raise _Expected("one of HS256, RS256, ES256, EdDSA, Ed25519")


def _readable_file(value: str) -> str:
    path = Path(value).expanduser()
    if not path.is_file() or not os.access(path, os.R_OK):
        raise _Expected("a readable file (PEM private key)")
    return str(path)


def _claim_text(value: str) -> str:
    if not value or len(value) > 255 or any(ch.isspace() for ch in value):
        raise _Expected("a non-empty string or URI without spaces (at most 255 characters)")
    return value


def _ttl_between(low: timedelta, high: timedelta) -> Callable[[str], timedelta]:
    def parse(value: str) -> timedelta:
        expected = f"a duration from {_show_duration(low)} to {_show_duration(high)}, e.g. 15m, 30d"
        try:
            duration = _duration(value)
        except ValueError:
            raise _Expected(expected) from None
        if not low <= duration <= high:
            raise _Expected(expected)
        return duration

    return parse


def _show_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _https_or_loopback_url(value: str) -> str:
    parts = urlsplit(value)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise _Expected("an https:// URL (http:// only for localhost)")
    return value


_GOOGLE_VARS = ("HDUCE_GOOGLE_CLIENT_ID", "HDUCE_GOOGLE_CLIENT_SECRET", "HDUCE_GOOGLE_REDIRECT_URI")


def _google_from(values: Mapping[str, Any]) -> GoogleSettings | None:
    missing = [name for name in _GOOGLE_VARS if values[name] is None]
    if len(missing) == len(_GOOGLE_VARS):
        return None
    if missing:
        given = next(name for name in _GOOGLE_VARS if values[name] is not None)
        raise SettingsError(
            f"{missing[0]} is unset: expected all of {', '.join(_GOOGLE_VARS)} or none ({given} is set)"
        )
    return GoogleSettings(
        client_id=values["HDUCE_GOOGLE_CLIENT_ID"],
        client_secret=values["HDUCE_GOOGLE_CLIENT_SECRET"],
        redirect_uri=values["HDUCE_GOOGLE_REDIRECT_URI"],
        discovery_url=values["HDUCE_GOOGLE_DISCOVERY_URL"],
    )


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "HDUCE_ENV",
        "development",
        "development or production (production requires HDUCE_JWT_SECRET).",
        _one_of("development", "production"),
    ),
    _Spec("HDUCE_HTTP_HOST", "127.0.0.1", "Address the HTTP server binds to.", _host),
    _Spec(
        "HDUCE_HTTP_PORT", "8000", "TCP port of the HTTP server (1..65535).", _int_between(1, 65535)
    ),
    _Spec("HDUCE_HTTP_WORKERS", "1", "HTTP worker processes.", _int_between(1, 512)),
    _Spec(
        "HDUCE_DATABASE_URL",
        "sqlite+aiosqlite:///./var/hduce.sqlite3",
        "SQLAlchemy URL; postgresql:// and postgres:// are switched to the asyncpg driver.",
        _database_url,
        show=_url_without_password,
    ),
    _Spec(
        "HDUCE_REDIS_URL",
        None,
        "Redis for cache, rate limits, tokens and realtime fan-out.",
        _redis_url,
        show=_url_without_password,
        shown_default="unset (in-memory)",
    ),
    _Spec(
        "HDUCE_BROKER_URL",
        None,
        "Event broker; the scheme picks it: amqp(s):// RabbitMQ, kafka://host:port[,host:port] "
        "Kafka, redis(s):// Redis Streams, nats:// NATS. Validated but not used yet: events "
        "go from the outbox to the consumers of hduce serve / hduce worker in process.",
        _broker,
        show=_url_without_password,
        shown_default="unset (in-process)",
    ),
    _Spec("HDUCE_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL.", _log_level),
    _Spec(
        "HDUCE_LOG_FORMAT",
        "auto",
        "auto, json or console; auto = json unless stdout is a terminal.",
        _one_of("auto", "json", "console"),
    ),
    _Spec(
        "HDUCE_JWT_SECRET",
        None,
        f"Key signing access tokens (>= {MIN_JWT_SECRET_LENGTH} characters). Required in "
        "production; in development a random one is made per run.",
        _jwt_secret,
        show=_hidden,
        shown_default="unset (random in development)",
    ),
    _Spec(
        "HDUCE_SMTP_URL",
        None,
        "Outgoing mail: smtp://user:pass@host:port, smtps:// (TLS) or smtp+starttls://.",
        _smtp,
        show=_url_without_password,
        shown_default="unset (emails are logged)",
    ),
    _Spec(
        "HDUCE_EMAIL_FROM",
        "HDUCE <no-reply@hduce.local>",
        "From header of outgoing email.",
        _email_from,
    ),
    _Spec(
        "HDUCE_SMS_API_URL",
        None,
        "Twilio-style SMS API base URL (set all HDUCE_SMS_* or none).",
        _http_url,
        shown_default="unset (SMS are logged)",
    ),
    _Spec("HDUCE_SMS_ACCOUNT_SID", None, "SMS API account id.", _text, shown_default="unset"),
    _Spec(
        "HDUCE_SMS_AUTH_TOKEN",
        None,
        "SMS API auth token.",
        Secret,
        show=_hidden,
        shown_default="unset",
    ),
    _Spec(
        "HDUCE_SMS_FROM", None, "Sender number (E.164) or sender id.", _text, shown_default="unset"
    ),
    _Spec(
        "HDUCE_OUTBOX_POLL_INTERVAL",
        "0.5",
        "Seconds between outbox relay polls (e.g. 0.5, 500ms).",
        _poll_interval,
    ),
    _Spec(
        "HDUCE_REMINDER_OFFSETS",
        "24h,1h",
        'How long before an approved visit reminders go out; comma list, or "none".',
        _reminder_offsets,
    ),
    _Spec(
        "HDUCE_DEFAULT_TIMEZONE", "UTC", "IANA time zone for users who have not set one.", _timezone
    ),
    _Spec(
        "HDUCE_JWT_ALGORITHM",
        "HS256",
        "Access-token signature: HS256 (HDUCE_JWT_SECRET), or RS256, ES256, EdDSA, Ed25519 "
        "(HDUCE_JWT_PRIVATE_KEY_FILE; the public key is published at /.well-known/jwks.json).",
        _jwt_algorithm,
    ),
    _Spec(
        "HDUCE_JWT_PRIVATE_KEY_FILE",
        None,
        "PEM private key signing access tokens; required by the asymmetric algorithms.",
        _readable_file,
        shown_default="unset",
    ),
    _Spec("HDUCE_JWT_ISSUER", "hduce", "`iss` claim of access tokens (checked).", _claim_text),
    _Spec(
        "HDUCE_JWT_AUDIENCE", "hduce-api", "`aud` claim of access tokens (checked).", _claim_text
    ),
    _Spec(
        "HDUCE_ACCESS_TOKEN_TTL",
        "15m",
        "Lifetime of access tokens (1m..24h).",
        _ttl_between(timedelta(minutes=1), timedelta(hours=24)),
    ),
    _Spec(
        "HDUCE_REFRESH_TOKEN_TTL",
        "30d",
        "Lifetime of refresh tokens, renewed at each rotation (1h..365d).",
        _ttl_between(timedelta(hours=1), timedelta(days=365)),
    ),
    _Spec(
        "HDUCE_GOOGLE_CLIENT_ID",
        None,
        "Google OAuth client id; set the three HDUCE_GOOGLE_CLIENT_ID/SECRET/REDIRECT_URI to "
        "enable Google sign-in (unset: the /auth/google routes do not exist).",
        _text,
        shown_default="unset (Google sign-in off)",
    ),
    _Spec(
        "HDUCE_GOOGLE_CLIENT_SECRET",
        None,
        "Google OAuth client secret.",
        Secret,
        show=_hidden,
        shown_default="unset",
    ),
    _Spec(
        "HDUCE_GOOGLE_REDIRECT_URI",
        None,
        "Callback registered with Google, e.g. https://api.example.org/api/v1/auth/google/callback.",
        _https_or_loopback_url,
        shown_default="unset",
    ),
    _Spec(
        "HDUCE_GOOGLE_DISCOVERY_URL",
        GOOGLE_DISCOVERY_URL,
        "OpenID Connect discovery document of the identity provider.",
        _https_or_loopback_url,
    ),
)

_KNOWN = frozenset(spec.name for spec in _SPECS)

SETTINGS_DOC: list[tuple[str, str, str]] = [
    (spec.name, spec.shown_default or spec.default or "unset", spec.description) for spec in _SPECS
]
"""(variable, default, description) for every setting, in documentation order."""


def _reject_unknown(environ: Mapping[str, str]) -> None:
    for name in sorted(environ):
        if (
            name.startswith(ENV_PREFIX)
            and not name.startswith(TEST_ENV_PREFIX)
            and name not in _KNOWN
        ):
            close = difflib.get_close_matches(name, _KNOWN, n=1, cutoff=0.8)
            hint = f"did you mean {close[0]}?" if close else "run `hduce settings` for the list"
            raise SettingsError(f"{name}: unknown setting ({hint})")


def render_settings_markdown() -> str:
    """The settings as a Markdown table, for the README."""
    lines = ["| Variable | Default | Description |", "|---|---|---|"]
    for name, default, description in SETTINGS_DOC:
        shown = default if default.startswith("unset") else f"`{default}`"
        lines.append(f"| `{name}` | {shown} | {description} |")
    return "\n".join(lines) + "\n"
