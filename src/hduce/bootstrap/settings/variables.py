"""The ``HDUCE_*`` variables: one declaration each, in documentation order.

Each ``Variable`` holds its default, its description and its parser.
``Settings.from_env`` reads them through ``read_environment`` and the
documentation (``SETTINGS_DOC``, ``render_settings_markdown``, the README table,
``hduce settings``) is rendered from ``VARIABLES``, so the two cannot drift.

Every refusal is a ``SettingsError`` whose message is one line naming the
variable, the offending value (secrets redacted) and what was expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar, cast

from hduce.bootstrap.settings import connections as conn
from hduce.bootstrap.settings import groups
from hduce.bootstrap.settings import parsers as p
from hduce.bootstrap.settings.groups import Environment, JwtAlgorithm, LogFormat
from hduce.bootstrap.settings.parsers import Expected, Secret

ENV_PREFIX = "HDUCE_"
# Test fixtures read their own service URLs (HDUCE_TEST_POSTGRES_URL, ...).
TEST_ENV_PREFIX = "HDUCE_TEST_"
MIN_JWT_SECRET_LENGTH = 32

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration value is missing, malformed or unknown (one-line message)."""


@dataclass(frozen=True, slots=True)
class Variable(Generic[T]):
    name: str
    # Parsed like a given value; None = unset unless the environment says otherwise.
    default: str | None
    description: str
    parse: Callable[[str], T]
    # How a refused value is echoed in the error; secrets must not reach logs.
    show: Callable[[str], str] = repr
    # The Default column of the docs when the bare default would not explain it.
    shown_default: str | None = None

    def resolve(self, environ: Mapping[str, str]) -> T | None:
        raw = environ.get(self.name)
        # An empty value (``HDUCE_REDIS_URL=`` in a compose file) means "unset".
        value = raw.strip() if raw is not None and raw.strip() else self.default
        if value is None:
            return None
        try:
            return self.parse(value)
        except Expected as exc:
            raise SettingsError(f"{self.name}={self.show(value)}: expected {exc}") from None


ENV: Variable[Environment] = Variable(
    "HDUCE_ENV",
    "development",
    "development or production (production requires HDUCE_JWT_SECRET).",
    p.one_of("development", "production"),
)
HTTP_HOST = Variable("HDUCE_HTTP_HOST", "127.0.0.1", "Address the HTTP server binds to.", p.host)
HTTP_PORT = Variable(
    "HDUCE_HTTP_PORT", "8000", "TCP port of the HTTP server (1..65535).", p.int_between(1, 65535)
)
HTTP_WORKERS = Variable("HDUCE_HTTP_WORKERS", "1", "HTTP worker processes.", p.int_between(1, 512))
METRICS_PORT = Variable(
    "HDUCE_METRICS_PORT",
    None,
    "Serve /metrics on this TCP port (same host) instead of the HTTP port, which then answers "
    "404 there. With several HTTP workers the server's parent process serves every worker's "
    "metrics there (see Metrics).",
    p.int_between(1, 65535),
    shown_default="unset (/metrics on the HTTP port)",
)
WORKER_HTTP_PORT = Variable(
    "HDUCE_WORKER_HTTP_PORT",
    None,
    "TCP port on which each hduce worker serves /metrics, /health and /health/ready (bound to "
    "HDUCE_HTTP_HOST; one port per worker on a host).",
    p.int_between(1, 65535),
    shown_default="unset (no listener)",
)
HSTS_MAX_AGE = Variable(
    "HDUCE_HSTS_MAX_AGE",
    "365d",
    "Strict-Transport-Security max-age, sent only on requests that arrived over https "
    "(0..730d; 0 tells browsers to drop the policy).",
    p.duration_between(timedelta(0), timedelta(days=730)),
)
DATABASE_URL = Variable(
    "HDUCE_DATABASE_URL",
    "sqlite+aiosqlite:///./var/hduce.sqlite3",
    "SQLAlchemy URL; postgresql:// and postgres:// are switched to the asyncpg driver.",
    conn.database_url,
    show=p.url_without_password,
)
DATABASE_POOL_SIZE = Variable(
    "HDUCE_DATABASE_POOL_SIZE",
    "5",
    "Database connections each process keeps for reuse (1..1000). A process holds at most "
    "pool size + max overflow: keep processes x that below PostgreSQL's max_connections "
    "(README, Connection budget).",
    p.int_between(1, 1000),
)
DATABASE_MAX_OVERFLOW = Variable(
    "HDUCE_DATABASE_MAX_OVERFLOW",
    "5",
    "Extra database connections a process may open in bursts, closed once returned (0..1000).",
    p.int_between(0, 1000),
)
DATABASE_POOL_TIMEOUT = Variable(
    "HDUCE_DATABASE_POOL_TIMEOUT",
    "10s",
    "How long a request waits for a free database connection; then it is answered 503 "
    "with Retry-After (e.g. 10s, 500ms; at most 300s).",
    p.seconds_up_to(300),
)
REDIS_URL = Variable(
    "HDUCE_REDIS_URL",
    None,
    "Redis for the state processes share: token denylist, accounts' access state, rate "
    "limits, pending Google sign-ins, the live notification fan-out and the stream cap.",
    conn.redis_url,
    show=p.url_without_password,
    shown_default="unset (in-memory)",
)
REDIS_MAX_CONNECTIONS = Variable(
    "HDUCE_REDIS_MAX_CONNECTIONS",
    "50",
    "Redis connections per process (1..10000); when all are busy a command waits for one.",
    p.int_between(1, 10000),
)
REDIS_POOL_TIMEOUT = Variable(
    "HDUCE_REDIS_POOL_TIMEOUT",
    "5s",
    "How long a command waits for a free Redis connection; then the request is answered "
    "503 with Retry-After (at most 300s).",
    p.seconds_up_to(300),
)
BROKER_URL = Variable(
    "HDUCE_BROKER_URL",
    None,
    "Event broker; the scheme picks it: amqp(s):// RabbitMQ, kafka://host:port[,host:port] "
    "Kafka, redis(s):// Redis Streams, nats:// NATS (JetStream). The outbox relay publishes "
    "every event to it and hduce worker / hduce serve consume from it, any number of workers "
    "sharing the work. Unset: events go from the outbox to consumers in the same process.",
    conn.broker,
    show=p.url_without_password,
    shown_default="unset (in-process)",
)
BROKER_PREFIX = Variable(
    "HDUCE_BROKER_PREFIX",
    "hduce",
    "First part of every exchange, queue, topic, stream, subject and consumer group "
    "name on the broker (lowercase letters, digits, - and _), so deployments can "
    "share one broker.",
    conn.broker_prefix,
)
MQTT_URL = Variable(
    "HDUCE_MQTT_URL",
    None,
    "MQTT broker of the check-in devices (kiosks, QR readers), mqtt://[user:pass@]host[:port] "
    "(MQTT 5). hduce worker and hduce serve subscribe to the devices' check-ins and "
    "heartbeats and reply to each (docs/devices.md). Unset: no device gateway.",
    conn.mqtt,
    show=p.url_without_password,
    shown_default="unset (off)",
)
MQTT_TOPIC_PREFIX = Variable(
    "HDUCE_MQTT_TOPIC_PREFIX",
    "hduce",
    "First level of every device topic ({prefix}/devices/{device_id}/checkin, ...): "
    "letters, digits, - and _, optionally several levels separated by /.",
    conn.mqtt_topic_prefix,
)
DEVICE_ONLINE_WINDOW = Variable(
    "HDUCE_DEVICE_ONLINE_WINDOW",
    "120s",
    "A device heard from (heartbeat or check-in) within this long is listed as online "
    "(at most 86400s).",
    p.seconds_up_to(86400),
)
LOG_LEVEL = Variable(
    "HDUCE_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL.", p.log_level
)
LOG_FORMAT: Variable[LogFormat] = Variable(
    "HDUCE_LOG_FORMAT",
    "auto",
    "auto, json or console; auto = json unless stdout is a terminal.",
    p.one_of("auto", "json", "console"),
)
OTLP_ENDPOINT = Variable(
    "HDUCE_OTLP_ENDPOINT",
    None,
    "OpenTelemetry traces: base URL of an OTLP/HTTP receiver (a collector, Jaeger, "
    "Tempo), e.g. http://127.0.0.1:4318; spans go to <url>/v1/traces. Unset: no tracing "
    "(the SDK is not even loaded).",
    p.http_url,
    show=p.url_without_password,
    shown_default="unset (tracing off)",
)
OTLP_SERVICE_NAME = Variable(
    "HDUCE_OTLP_SERVICE_NAME",
    "hduce",
    "service.name of this process's spans (e.g. hduce-api, hduce-worker).",
    p.claim_text,
)
TRACE_SAMPLE_RATIO = Variable(
    "HDUCE_TRACE_SAMPLE_RATIO",
    "1",
    "Share of the traces a process starts that are recorded (0..1); a trace that "
    "arrives from a caller or through the outbox keeps the decision made at its start.",
    p.fraction,
)
JWT_SECRET = Variable(
    "HDUCE_JWT_SECRET",
    None,
    f"Key signing access tokens (>= {MIN_JWT_SECRET_LENGTH} characters). Required in "
    "production; in development a random one is made per run.",
    p.secret_of_length(MIN_JWT_SECRET_LENGTH, " (e.g. `openssl rand -hex 32`)"),
    show=p.hidden,
    shown_default="unset (random in development)",
)
SMTP_URL = Variable(
    "HDUCE_SMTP_URL",
    None,
    "Outgoing mail: smtp://user:pass@host:port, smtps:// (TLS) or smtp+starttls://.",
    conn.smtp,
    show=p.url_without_password,
    shown_default="unset (emails are logged)",
)
EMAIL_FROM = Variable(
    "HDUCE_EMAIL_FROM",
    "HDUCE <no-reply@hduce.local>",
    "From header of outgoing email.",
    p.email_address,
)
SMS_API_URL = Variable(
    "HDUCE_SMS_API_URL",
    None,
    "Twilio-style SMS API base URL (set all HDUCE_SMS_* or none).",
    p.http_url,
    shown_default="unset (SMS are logged)",
)
SMS_ACCOUNT_SID = Variable(
    "HDUCE_SMS_ACCOUNT_SID", None, "SMS API account id.", p.text, shown_default="unset"
)
SMS_AUTH_TOKEN = Variable(
    "HDUCE_SMS_AUTH_TOKEN",
    None,
    "SMS API auth token.",
    Secret,
    show=p.hidden,
    shown_default="unset",
)
SMS_FROM = Variable(
    "HDUCE_SMS_FROM", None, "Sender number (E.164) or sender id.", p.text, shown_default="unset"
)
OUTBOX_POLL_INTERVAL = Variable(
    "HDUCE_OUTBOX_POLL_INTERVAL",
    "0.5",
    "Seconds between outbox relay polls (e.g. 0.5, 500ms).",
    p.seconds_up_to(3600),
)
STREAM_MAX_PER_USER = Variable(
    "HDUCE_STREAM_MAX_PER_USER",
    "5",
    "Notification streams (SSE) one person may hold open at once; one more is refused "
    "with 429. Counted across all processes with HDUCE_REDIS_URL, per process without.",
    p.int_between(1, 100),
)
STREAM_SESSION_CHECK_INTERVAL = Variable(
    "HDUCE_STREAM_SESSION_CHECK_INTERVAL",
    "5",
    "Seconds between checks of an open stream's session: at most this long after a "
    "logout or a deactivation, the stream closes.",
    p.seconds_up_to(300),
)
REMINDER_OFFSETS = Variable(
    "HDUCE_REMINDER_OFFSETS",
    "24h,1h",
    'How long before an approved visit reminders go out; comma list, or "none".',
    p.positive_durations,
)
WAITLIST_OFFER_TTL = Variable(
    "HDUCE_WAITLIST_OFFER_TTL",
    "15m",
    "How long a freed slot offered to a waiting patient is held for them before it "
    "passes to the next one in line (1m..7d; never past the visit's start).",
    p.duration_between(timedelta(minutes=1), timedelta(days=7)),
)
DEFAULT_TIMEZONE = Variable(
    "HDUCE_DEFAULT_TIMEZONE",
    "UTC",
    "IANA time zone for users who have not set one.",
    p.timezone,
)
JWT_ALGORITHM: Variable[JwtAlgorithm] = Variable(
    "HDUCE_JWT_ALGORITHM",
    "HS256",
    "Access-token signature: HS256 (HDUCE_JWT_SECRET), or RS256, ES256, EdDSA, Ed25519 "
    "(HDUCE_JWT_PRIVATE_KEY_FILE, or else keys kept in the database and rotated with "
    "`hduce keys rotate`; the public keys are published at /.well-known/jwks.json).",
    p.one_of("HS256", "RS256", "ES256", "EdDSA", "Ed25519"),
)
JWT_PRIVATE_KEY_FILE = Variable(
    "HDUCE_JWT_PRIVATE_KEY_FILE",
    None,
    "PEM private key signing access tokens with an asymmetric algorithm (one key, never "
    "rotated). Unset with an asymmetric algorithm: the keys live in the database.",
    p.readable_file,
    shown_default="unset (keys in the database)",
)
JWT_KEY_PASSPHRASE = Variable(
    "HDUCE_JWT_KEY_PASSPHRASE",
    None,
    f"Passphrase (>= {MIN_JWT_SECRET_LENGTH} characters) encrypting the signing keys kept in "
    "the database (PKCS#8, scrypt + AES-256). Required in production when the keys are "
    "there; unset in development, they are stored unencrypted.",
    p.secret_of_length(MIN_JWT_SECRET_LENGTH, " (e.g. `openssl rand -hex 32`)"),
    show=p.hidden,
    shown_default="unset (keys stored unencrypted)",
)
JWT_KEY_RELOAD_INTERVAL = Variable(
    "HDUCE_JWT_KEY_RELOAD_INTERVAL",
    "30s",
    "How often each process re-reads the signing keys from the database (1s..10m). A key "
    "made by `hduce keys rotate` is published at once and signs two intervals later, so "
    "every process knows it before its first token.",
    p.duration_between(timedelta(seconds=1), timedelta(minutes=10)),
)
JWT_ISSUER = Variable(
    "HDUCE_JWT_ISSUER", "hduce", "`iss` claim of access tokens (checked).", p.claim_text
)
JWT_AUDIENCE = Variable(
    "HDUCE_JWT_AUDIENCE", "hduce-api", "`aud` claim of access tokens (checked).", p.claim_text
)
ACCESS_TOKEN_TTL = Variable(
    "HDUCE_ACCESS_TOKEN_TTL",
    "15m",
    "Lifetime of access tokens (1m..24h).",
    p.duration_between(timedelta(minutes=1), timedelta(hours=24)),
)
ACCOUNT_CACHE_TTL = Variable(
    "HDUCE_ACCOUNT_CACHE_TTL",
    "5s",
    "How long each process reuses an account's role and active state to authenticate "
    "requests without asking Redis or the database (1s..1m): a deactivation or role "
    "change made through another process is seen at most this late there.",
    p.duration_between(timedelta(seconds=1), timedelta(minutes=1)),
)
REFRESH_TOKEN_TTL = Variable(
    "HDUCE_REFRESH_TOKEN_TTL",
    "30d",
    "Lifetime of refresh tokens, renewed at each rotation (1h..365d).",
    p.duration_between(timedelta(hours=1), timedelta(days=365)),
)
GOOGLE_CLIENT_ID = Variable(
    "HDUCE_GOOGLE_CLIENT_ID",
    None,
    "Google OAuth client id; set the three HDUCE_GOOGLE_CLIENT_ID/SECRET/REDIRECT_URI to "
    "enable Google sign-in (unset: the /auth/google routes do not exist).",
    p.text,
    shown_default="unset (Google sign-in off)",
)
GOOGLE_CLIENT_SECRET = Variable(
    "HDUCE_GOOGLE_CLIENT_SECRET",
    None,
    "Google OAuth client secret.",
    Secret,
    show=p.hidden,
    shown_default="unset",
)
GOOGLE_REDIRECT_URI = Variable(
    "HDUCE_GOOGLE_REDIRECT_URI",
    None,
    "Callback registered with Google, e.g. https://api.example.org/api/v1/auth/google/callback.",
    p.https_or_loopback_url,
    shown_default="unset",
)
GOOGLE_DISCOVERY_URL = Variable(
    "HDUCE_GOOGLE_DISCOVERY_URL",
    groups.GOOGLE_DISCOVERY_URL,
    "OpenID Connect discovery document of the identity provider.",
    p.https_or_loopback_url,
)
REQUIRE_ADMIN_2FA = Variable(
    "HDUCE_REQUIRE_ADMIN_2FA",
    "false",
    "true: admins must sign in with a second factor (TOTP); an admin session that did "
    "not pass one may only use the /auth/2fa routes (403 elsewhere): the admin enrols "
    "there (the session that confirms counts) or signs in again with a code. Doctors "
    "may enrol either way.",
    p.boolean,
)
TOTP_ENCRYPTION_KEY = Variable(
    "HDUCE_TOTP_ENCRYPTION_KEY",
    None,
    f"Key sealing the staff's TOTP secrets in the database (AES-256-GCM; >= "
    f"{MIN_JWT_SECRET_LENGTH} characters). In production without it nobody can enrol "
    "and HDUCE_REQUIRE_ADMIN_2FA=true is refused; in development a fixed, public key is "
    "used. Changing it disables every enrolled authenticator (their owners sign in with "
    "a recovery code and enrol again).",
    p.secret_of_length(MIN_JWT_SECRET_LENGTH, " (e.g. `openssl rand -hex 32`)"),
    show=p.hidden,
    shown_default="unset (2FA off in production; a public key in development)",
)
PUBLIC_URL = Variable(
    "HDUCE_PUBLIC_URL",
    "http://127.0.0.1:8000",
    "Base URL of the web app people open from emailed links: password-reset links are "
    "<url>/reset-password?token=..., verification links <url>/verify-email?token=..., a walk-in's "
    "first-password links <url>/set-password?token=... "
    "(pages of the web console, which use the token when the form is sent).",
    p.https_or_loopback_url,
)
PASSWORD_RESET_TTL = Variable(
    "HDUCE_PASSWORD_RESET_TTL",
    "30m",
    "How long an emailed password-reset link works (5m..24h); it works once.",
    p.duration_between(timedelta(minutes=5), timedelta(hours=24)),
)
EMAIL_VERIFICATION_TTL = Variable(
    "HDUCE_EMAIL_VERIFICATION_TTL",
    "48h",
    "How long an emailed email-verification link works (1h..30d); it works once.",
    p.duration_between(timedelta(hours=1), timedelta(days=30)),
)
PASSWORD_SETUP_TTL = Variable(
    "HDUCE_PASSWORD_SETUP_TTL",
    "7d",
    'How long the emailed "set your password" link of a walk-in patient\'s account '
    "works (1h..30d); it works once, and an admin may send a new one.",
    p.duration_between(timedelta(hours=1), timedelta(days=30)),
)
REQUIRE_VERIFIED_EMAIL_TO_BOOK = Variable(
    "HDUCE_REQUIRE_VERIFIED_EMAIL_TO_BOOK",
    "true",
    "true: a patient who registered with a password may sign in at once but books only "
    "after opening the emailed verification link (403 email-not-verified until then); "
    "false: booking does not wait (ADR 0015).",
    p.boolean,
)
CALENDAR_FEED_RATE_LIMIT = Variable(
    "HDUCE_CALENDAR_FEED_RATE_LIMIT",
    "60",
    "Reads of one calendar feed (GET /calendar/{token}.ics) allowed per hour; past it the "
    "feed answers 429 with Retry-After. Calendar apps poll every 15 minutes or more.",
    p.int_between(1, 100_000),
)

VARIABLES: tuple[Variable[Any], ...] = (
    ENV,
    HTTP_HOST,
    HTTP_PORT,
    HTTP_WORKERS,
    METRICS_PORT,
    WORKER_HTTP_PORT,
    HSTS_MAX_AGE,
    DATABASE_URL,
    DATABASE_POOL_SIZE,
    DATABASE_MAX_OVERFLOW,
    DATABASE_POOL_TIMEOUT,
    REDIS_URL,
    REDIS_MAX_CONNECTIONS,
    REDIS_POOL_TIMEOUT,
    BROKER_URL,
    BROKER_PREFIX,
    MQTT_URL,
    MQTT_TOPIC_PREFIX,
    DEVICE_ONLINE_WINDOW,
    LOG_LEVEL,
    LOG_FORMAT,
    OTLP_ENDPOINT,
    OTLP_SERVICE_NAME,
    TRACE_SAMPLE_RATIO,
    JWT_SECRET,
    SMTP_URL,
    EMAIL_FROM,
    SMS_API_URL,
    SMS_ACCOUNT_SID,
    SMS_AUTH_TOKEN,
    SMS_FROM,
    OUTBOX_POLL_INTERVAL,
    STREAM_MAX_PER_USER,
    STREAM_SESSION_CHECK_INTERVAL,
    REMINDER_OFFSETS,
    WAITLIST_OFFER_TTL,
    DEFAULT_TIMEZONE,
    JWT_ALGORITHM,
    JWT_PRIVATE_KEY_FILE,
    JWT_KEY_PASSPHRASE,
    JWT_KEY_RELOAD_INTERVAL,
    JWT_ISSUER,
    JWT_AUDIENCE,
    ACCESS_TOKEN_TTL,
    ACCOUNT_CACHE_TTL,
    REFRESH_TOKEN_TTL,
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_REDIRECT_URI,
    GOOGLE_DISCOVERY_URL,
    REQUIRE_ADMIN_2FA,
    TOTP_ENCRYPTION_KEY,
    PUBLIC_URL,
    PASSWORD_RESET_TTL,
    EMAIL_VERIFICATION_TTL,
    PASSWORD_SETUP_TTL,
    REQUIRE_VERIFIED_EMAIL_TO_BOOK,
    CALENDAR_FEED_RATE_LIMIT,
)
"""Every variable, in documentation order; a variable missing here is refused as unknown."""

_KNOWN = frozenset(variable.name for variable in VARIABLES)


class Values:
    """Every variable of one environment, parsed; read back with its ``Variable``."""

    def __init__(self, parsed: Mapping[str, object]) -> None:
        self._parsed = parsed

    def __getitem__(self, variable: Variable[T]) -> T:
        """A variable that has a default, so it is never unset."""
        return self.required(variable)

    def optional(self, variable: Variable[T]) -> T | None:
        return cast(T | None, self._parsed[variable.name])

    def required(self, variable: Variable[T], when: str = "") -> T:
        value = self.optional(variable)
        if value is None:
            raise SettingsError(
                f"{variable.name} is unset" + (f": required when {when}" if when else "")
            )
        return value

    def all_or_none(self, *variables: Variable[Any]) -> bool:
        """True when all are set, False when none is; refuses a partial set."""
        names = [variable.name for variable in variables]
        missing = [name for name in names if self._parsed[name] is None]
        if missing and len(missing) < len(names):
            given = next(name for name in names if name not in missing)
            raise SettingsError(
                f"{missing[0]} is unset: expected all of {', '.join(names)} or none ({given} is set)"
            )
        return not missing


def read_environment(environ: Mapping[str, str]) -> Values:
    """Refuse unknown ``HDUCE_*`` names, then parse every variable in table order."""
    _reject_unknown(environ)
    return Values({variable.name: variable.resolve(environ) for variable in VARIABLES})


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


SETTINGS_DOC: list[tuple[str, str, str]] = [
    (variable.name, variable.shown_default or variable.default or "unset", variable.description)
    for variable in VARIABLES
]
"""(variable, default, description) for every setting, in documentation order."""


def render_settings_markdown() -> str:
    """The settings as a Markdown table, for the README."""
    lines = ["| Variable | Default | Description |", "|---|---|---|"]
    for name, default, description in SETTINGS_DOC:
        shown = default if default.startswith("unset") else f"`{default}`"
        lines.append(f"| `{name}` | {shown} | {description} |")
    return "\n".join(lines) + "\n"
