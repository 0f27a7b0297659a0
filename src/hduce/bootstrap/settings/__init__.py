"""Configuration from ``HDUCE_*`` environment variables.

- ``variables.py``: one declaration per variable (default, description, parser),
  the refusal of unknown names and the README table rendered from them;
- ``parsers.py``: generic value parsers and the redaction of secrets;
- ``connections.py``: parsers of database, Redis, broker and SMTP URLs;
- ``groups.py``: the typed groups (``settings.http``, ``settings.auth``, ...);
- ``model.py``: ``Settings`` and its assembly from the environment.
"""

from hduce.bootstrap.settings.groups import (
    ASYMMETRIC_JWT_ALGORITHMS,
    GOOGLE_DISCOVERY_URL,
    AccountLinkSettings,
    AuthSettings,
    BrokerKind,
    BrokerSettings,
    CalendarFeedSettings,
    DatabaseBackend,
    DatabaseSettings,
    DeliverySettings,
    DeviceSettings,
    Environment,
    GoogleSettings,
    HttpSettings,
    JwtAlgorithm,
    LogFormat,
    LoggingSettings,
    OutboxSettings,
    RedisSettings,
    ReminderSettings,
    SmsSettings,
    SmtpSettings,
    StreamSettings,
    TracingSettings,
    TwoFactorSettings,
    WaitlistSettings,
)
from hduce.bootstrap.settings.model import Settings
from hduce.bootstrap.settings.parsers import Secret, redact_url
from hduce.bootstrap.settings.variables import (
    ENV_PREFIX,
    MIN_JWT_SECRET_LENGTH,
    SETTINGS_DOC,
    TEST_ENV_PREFIX,
    VARIABLES,
    SettingsError,
    Variable,
    render_settings_markdown,
)

__all__ = [
    "ASYMMETRIC_JWT_ALGORITHMS",
    "ENV_PREFIX",
    "GOOGLE_DISCOVERY_URL",
    "MIN_JWT_SECRET_LENGTH",
    "SETTINGS_DOC",
    "TEST_ENV_PREFIX",
    "VARIABLES",
    "AccountLinkSettings",
    "AuthSettings",
    "BrokerKind",
    "BrokerSettings",
    "CalendarFeedSettings",
    "DatabaseBackend",
    "DatabaseSettings",
    "DeliverySettings",
    "DeviceSettings",
    "Environment",
    "GoogleSettings",
    "HttpSettings",
    "JwtAlgorithm",
    "LogFormat",
    "LoggingSettings",
    "OutboxSettings",
    "RedisSettings",
    "ReminderSettings",
    "Secret",
    "Settings",
    "SettingsError",
    "SmsSettings",
    "SmtpSettings",
    "StreamSettings",
    "TracingSettings",
    "TwoFactorSettings",
    "Variable",
    "WaitlistSettings",
    "redact_url",
    "render_settings_markdown",
]
