"""The typed groups ``Settings`` is made of, one per concern.

Field names are the variable names without ``HDUCE_`` and without the group's own
prefix: ``HDUCE_HTTP_PORT`` is ``settings.http.port``, ``HDUCE_JWT_SECRET`` is
``settings.auth.jwt_secret``. An optional service (Redis, a broker, SMTP, SMS,
Google sign-in) is ``None`` when unconfigured, so "is it on?" is one test.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal

import msgspec

from hduce.bootstrap.settings.parsers import Secret

Environment = Literal["development", "production"]
LogFormat = Literal["auto", "json", "console"]
BrokerKind = Literal["rabbit", "kafka", "redis", "nats"]
DatabaseBackend = Literal["sqlite", "postgresql"]
JwtAlgorithm = Literal["HS256", "RS256", "ES256", "EdDSA", "Ed25519"]
ASYMMETRIC_JWT_ALGORITHMS: Final = frozenset({"RS256", "ES256", "EdDSA", "Ed25519"})
GOOGLE_DISCOVERY_URL: Final = "https://accounts.google.com/.well-known/openid-configuration"


class HttpSettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    workers: int
    # None: /metrics is served on ``port`` with the API.
    metrics_port: int | None
    # hduce worker's /metrics and /health listener (on ``host``); None: no listener.
    worker_port: int | None = None
    # Strict-Transport-Security max-age for requests that came over https.
    hsts_max_age: timedelta


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    # Always an async driver: postgresql+asyncpg:// or sqlite+aiosqlite://.
    url: str
    # The connection pool of each process: at most pool_size + max_overflow
    # connections; a request waits pool_timeout seconds for one, then gets a 503.
    pool_size: int
    max_overflow: int
    pool_timeout: float

    @property
    def backend(self) -> DatabaseBackend:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    # A blocking pool: a command waits pool_timeout seconds for a free connection.
    max_connections: int
    pool_timeout: float


class BrokerSettings(msgspec.Struct, frozen=True):
    kind: BrokerKind
    url: str
    # Kafka takes a list of bootstrap servers rather than a URL.
    servers: tuple[str, ...] = ()
    # HDUCE_BROKER_PREFIX: the first part of every name on the broker.
    prefix: str = "hduce"


class DeviceSettings(msgspec.Struct, frozen=True, kw_only=True):
    # HDUCE_MQTT_URL; None = no device gateway.
    mqtt_url: str | None
    topic_prefix: str
    online_window: float


class LoggingSettings(msgspec.Struct, frozen=True):
    level: str
    format: LogFormat


class TracingSettings(msgspec.Struct, frozen=True, kw_only=True):
    # Base URL of an OTLP/HTTP receiver; spans go to <endpoint>/v1/traces.
    otlp_endpoint: str
    service_name: str
    # Of the traces this process starts; a caller's decision is followed.
    sample_ratio: float


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    jwt_algorithm: JwtAlgorithm
    jwt_secret: Secret
    # True when no secret was configured and one was generated for this process:
    # tokens die with the process and differ between processes.
    jwt_secret_is_ephemeral: bool
    # Only with an asymmetric jwt_algorithm; unset then: the keys live in the database.
    jwt_private_key_file: str | None
    jwt_issuer: str
    jwt_audience: str
    access_token_ttl: timedelta
    #: How long each process reuses an account's access state (ADR 0010).
    account_cache_ttl: timedelta
    refresh_token_ttl: timedelta
    #: Encrypts the signing keys kept in the database (ADR 0016).
    jwt_key_passphrase: Secret | None = None
    #: How often each process re-reads the signing keys kept in the database.
    jwt_key_reload_interval: timedelta = timedelta(seconds=30)

    @property
    def jwt_keys_in_database(self) -> bool:
        """Asymmetric keys kept in the database and rotated (no key file given)."""
        return self.jwt_algorithm in ASYMMETRIC_JWT_ALGORITHMS and self.jwt_private_key_file is None


#: Seals TOTP secrets in development when HDUCE_TOTP_ENCRYPTION_KEY is unset. Public,
#: so it protects nothing: production never uses it (ADR 0017).
DEVELOPMENT_TOTP_KEY = "hduce-development-totp-key-not-secret-0123456789"


class TwoFactorSettings(msgspec.Struct, frozen=True, kw_only=True):
    #: HDUCE_REQUIRE_ADMIN_2FA: admins' sessions need a second factor.
    require_admin: bool = False
    #: HDUCE_TOTP_ENCRYPTION_KEY, the development key, or None (production without a
    #: key: nobody can enrol, and the admin policy cannot be turned on).
    encryption_key: Secret | None = msgspec.field(
        default_factory=lambda: Secret(DEVELOPMENT_TOTP_KEY)
    )


class AccountLinkSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Emailed links (password reset, email verification) and what verification gates."""

    #: Base URL of the web app the links open (HDUCE_PUBLIC_URL).
    public_url: str
    password_reset_ttl: timedelta
    email_verification_ttl: timedelta
    password_setup_ttl: timedelta
    require_verified_email_to_book: bool


class CalendarFeedSettings(msgspec.Struct, frozen=True, kw_only=True):
    #: HDUCE_CALENDAR_FEED_RATE_LIMIT: reads of one calendar feed per hour.
    rate_limit: int = 60


class GoogleSettings(msgspec.Struct, frozen=True):
    client_id: str
    client_secret: Secret
    redirect_uri: str
    discovery_url: str = GOOGLE_DISCOVERY_URL


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


class DeliverySettings(msgspec.Struct, frozen=True):
    email_from: str
    # None: messages go to the log sink instead.
    smtp: SmtpSettings | None
    sms: SmsSettings | None


class OutboxSettings(msgspec.Struct, frozen=True):
    poll_interval: float


class StreamSettings(msgspec.Struct, frozen=True):
    max_per_user: int
    session_check_interval: float


class WaitlistSettings(msgspec.Struct, frozen=True):
    # How long an offer of a freed slot is held for its patient.
    offer_ttl: timedelta = timedelta(minutes=15)


class ReminderSettings(msgspec.Struct, frozen=True):
    # Longest first; empty when reminders are off.
    offsets: tuple[timedelta, ...]
