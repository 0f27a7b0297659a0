"""``Settings``: the validated configuration, assembled from the variable table."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import msgspec

from hduce.bootstrap.settings import variables as var
from hduce.bootstrap.settings.groups import (
    ASYMMETRIC_JWT_ALGORITHMS,
    AccountLinkSettings,
    AuthSettings,
    BrokerSettings,
    CalendarFeedSettings,
    DatabaseSettings,
    DeliverySettings,
    DeviceSettings,
    Environment,
    GoogleSettings,
    HttpSettings,
    LoggingSettings,
    OutboxSettings,
    RedisSettings,
    ReminderSettings,
    SmsSettings,
    StreamSettings,
    TracingSettings,
    TwoFactorSettings,
    WaitlistSettings,
)
from hduce.bootstrap.settings.parsers import Secret, redact_url
from hduce.bootstrap.settings.variables import SettingsError, Values


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Validated configuration. Build it with ``Settings.from_env``: the defaults
    live in the variable table only, so tests pass a mapping instead of
    constructing this (or ``msgspec.structs.replace`` one group of a built one)."""

    env: Environment
    http: HttpSettings
    database: DatabaseSettings
    redis: RedisSettings | None
    broker: BrokerSettings | None
    logging: LoggingSettings
    # None: tracing off.
    tracing: TracingSettings | None
    auth: AuthSettings
    google: GoogleSettings | None
    delivery: DeliverySettings
    outbox: OutboxSettings
    streams: StreamSettings
    reminders: ReminderSettings
    devices: DeviceSettings
    account_links: AccountLinkSettings
    # For users (and statistics) that have no zone of their own.
    default_timezone: str
    two_factor: TwoFactorSettings = msgspec.field(default_factory=TwoFactorSettings)
    calendar_feeds: CalendarFeedSettings = msgspec.field(default_factory=CalendarFeedSettings)
    waitlist: WaitlistSettings = msgspec.field(default_factory=WaitlistSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        values = var.read_environment(environ)
        env = values[var.ENV]
        auth = _auth(values, env)
        redis_url = values.optional(var.REDIS_URL)
        return cls(
            env=env,
            http=_http(values),
            database=DatabaseSettings(
                url=values[var.DATABASE_URL],
                pool_size=values[var.DATABASE_POOL_SIZE],
                max_overflow=values[var.DATABASE_MAX_OVERFLOW],
                pool_timeout=values[var.DATABASE_POOL_TIMEOUT],
            ),
            redis=RedisSettings(
                url=redis_url,
                max_connections=values[var.REDIS_MAX_CONNECTIONS],
                pool_timeout=values[var.REDIS_POOL_TIMEOUT],
            )
            if redis_url is not None
            else None,
            broker=_broker(values),
            logging=LoggingSettings(level=values[var.LOG_LEVEL], format=values[var.LOG_FORMAT]),
            tracing=_tracing(values),
            auth=auth,
            delivery=DeliverySettings(
                email_from=values[var.EMAIL_FROM],
                smtp=values.optional(var.SMTP_URL),
                sms=_sms(values),
            ),
            google=_google(values),
            outbox=OutboxSettings(poll_interval=values[var.OUTBOX_POLL_INTERVAL]),
            streams=StreamSettings(
                max_per_user=values[var.STREAM_MAX_PER_USER],
                session_check_interval=values[var.STREAM_SESSION_CHECK_INTERVAL],
            ),
            reminders=ReminderSettings(offsets=values[var.REMINDER_OFFSETS]),
            devices=DeviceSettings(
                mqtt_url=values.optional(var.MQTT_URL),
                topic_prefix=values[var.MQTT_TOPIC_PREFIX],
                online_window=values[var.DEVICE_ONLINE_WINDOW],
            ),
            account_links=AccountLinkSettings(
                public_url=values[var.PUBLIC_URL],
                password_reset_ttl=values[var.PASSWORD_RESET_TTL],
                email_verification_ttl=values[var.EMAIL_VERIFICATION_TTL],
                password_setup_ttl=values[var.PASSWORD_SETUP_TTL],
                require_verified_email_to_book=values[var.REQUIRE_VERIFIED_EMAIL_TO_BOOK],
            ),
            default_timezone=values[var.DEFAULT_TIMEZONE],
            two_factor=_two_factor(values, env),
            calendar_feeds=CalendarFeedSettings(rate_limit=values[var.CALENDAR_FEED_RATE_LIMIT]),
            waitlist=WaitlistSettings(offer_ttl=values[var.WAITLIST_OFFER_TTL]),
        )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    def summary(self) -> dict[str, object]:
        """What is safe to log at startup: no passwords, no tokens."""
        smtp, sms = self.delivery.smtp, self.delivery.sms
        database, redis = self.database, self.redis
        return {
            "env": self.env,
            "database": redact_url(database.url),
            "database_pool": f"{database.pool_size}+{database.max_overflow} "
            f"(wait {database.pool_timeout:g} s)",
            "redis": redact_url(redis.url) if redis else "in-memory",
            "redis_pool": f"{redis.max_connections} (wait {redis.pool_timeout:g} s)"
            if redis
            else "none",
            "broker": f"{self.broker.kind} {redact_url(self.broker.url)}"
            if self.broker
            else "in-process",
            "smtp": f"{smtp.host}:{smtp.port}" if smtp else "log sink",
            "sms": sms.api_url if sms else "log sink",
            "jwt": self.auth.jwt_algorithm
            + (" (keys in the database)" if self.auth.jwt_keys_in_database else ""),
            "google_sign_in": "on" if self.google else "off",
            "tracing": redact_url(self.tracing.otlp_endpoint) if self.tracing else "off",
            "devices_mqtt": redact_url(self.devices.mqtt_url) if self.devices.mqtt_url else "off",
        }


def _http(values: Values) -> HttpSettings:
    port = values[var.HTTP_PORT]
    metrics_port = values.optional(var.METRICS_PORT)
    if metrics_port == port:
        raise SettingsError(
            f"HDUCE_METRICS_PORT={metrics_port}: expected a port other than HDUCE_HTTP_PORT"
        )
    return HttpSettings(
        host=values[var.HTTP_HOST],
        port=port,
        workers=values[var.HTTP_WORKERS],
        metrics_port=metrics_port,
        worker_port=values.optional(var.WORKER_HTTP_PORT),
        hsts_max_age=values[var.HSTS_MAX_AGE],
    )


def _tracing(values: Values) -> TracingSettings | None:
    endpoint = values.optional(var.OTLP_ENDPOINT)
    if endpoint is None:
        return None
    return TracingSettings(
        otlp_endpoint=endpoint,
        service_name=values[var.OTLP_SERVICE_NAME],
        sample_ratio=values[var.TRACE_SAMPLE_RATIO],
    )


def _broker(values: Values) -> BrokerSettings | None:
    broker = values.optional(var.BROKER_URL)
    if broker is None:
        return None
    return msgspec.structs.replace(broker, prefix=values[var.BROKER_PREFIX])


def _auth(values: Values, env: Environment) -> AuthSettings:
    algorithm = values[var.JWT_ALGORITHM]
    secret = values.optional(var.JWT_SECRET)
    asymmetric = algorithm in ASYMMETRIC_JWT_ALGORITHMS
    if secret is None and env == "production" and not asymmetric:
        raise SettingsError("HDUCE_JWT_SECRET is unset: required when HDUCE_ENV=production")
    key_file = values.optional(var.JWT_PRIVATE_KEY_FILE) if asymmetric else None
    passphrase = values.optional(var.JWT_KEY_PASSPHRASE)
    if asymmetric and key_file is None and passphrase is None and env == "production":
        raise SettingsError(
            "HDUCE_JWT_KEY_PASSPHRASE is unset: required when HDUCE_ENV=production and the "
            "signing keys are kept in the database (no HDUCE_JWT_PRIVATE_KEY_FILE)"
        )
    return AuthSettings(
        jwt_algorithm=algorithm,
        jwt_secret=secret or Secret(secrets.token_urlsafe(48)),
        jwt_secret_is_ephemeral=secret is None,
        jwt_private_key_file=key_file,
        jwt_issuer=values[var.JWT_ISSUER],
        jwt_audience=values[var.JWT_AUDIENCE],
        access_token_ttl=values[var.ACCESS_TOKEN_TTL],
        account_cache_ttl=values[var.ACCOUNT_CACHE_TTL],
        refresh_token_ttl=values[var.REFRESH_TOKEN_TTL],
        jwt_key_passphrase=passphrase,
        jwt_key_reload_interval=values[var.JWT_KEY_RELOAD_INTERVAL],
    )


def _two_factor(values: Values, env: Environment) -> TwoFactorSettings:
    key = values.optional(var.TOTP_ENCRYPTION_KEY)
    require_admin = values[var.REQUIRE_ADMIN_2FA]
    if key is None and env == "production":
        if require_admin:
            raise SettingsError(
                "HDUCE_TOTP_ENCRYPTION_KEY is unset: required when HDUCE_REQUIRE_ADMIN_2FA=true"
                " and HDUCE_ENV=production"
            )
        return TwoFactorSettings(require_admin=False, encryption_key=None)
    if key is None:
        return TwoFactorSettings(require_admin=require_admin)
    return TwoFactorSettings(require_admin=require_admin, encryption_key=key)


def _sms(values: Values) -> SmsSettings | None:
    group = (var.SMS_API_URL, var.SMS_ACCOUNT_SID, var.SMS_AUTH_TOKEN, var.SMS_FROM)
    if not values.all_or_none(*group):
        return None
    return SmsSettings(
        api_url=values[var.SMS_API_URL],
        account_sid=values[var.SMS_ACCOUNT_SID],
        auth_token=values[var.SMS_AUTH_TOKEN],
        from_number=values[var.SMS_FROM],
    )


def _google(values: Values) -> GoogleSettings | None:
    group = (var.GOOGLE_CLIENT_ID, var.GOOGLE_CLIENT_SECRET, var.GOOGLE_REDIRECT_URI)
    if not values.all_or_none(*group):
        return None
    return GoogleSettings(
        client_id=values[var.GOOGLE_CLIENT_ID],
        client_secret=values[var.GOOGLE_CLIENT_SECRET],
        redirect_uri=values[var.GOOGLE_REDIRECT_URI],
        discovery_url=values[var.GOOGLE_DISCOVERY_URL],
    )
