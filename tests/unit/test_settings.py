"""HDUCE_* configuration: defaults, normalisation and one-line refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.bootstrap.settings import (
    SETTINGS_DOC,
    VARIABLES,
    Settings,
    SettingsError,
    Variable,
    render_settings_markdown,
    variables,
)

GOOD_SECRET = "s" * 40


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_need_no_configuration() -> None:
    settings = Settings.from_env({})

    assert settings.env == "development"
    assert (settings.http.host, settings.http.port, settings.http.workers) == ("127.0.0.1", 8000, 1)
    assert settings.database.url == "sqlite+aiosqlite:///./var/hduce.sqlite3"
    assert settings.database.backend == "sqlite"
    assert settings.redis is None
    assert settings.broker is None
    assert (settings.logging.level, settings.logging.format) == ("INFO", "auto")
    assert settings.delivery.smtp is None
    assert settings.delivery.sms is None
    assert settings.delivery.email_from == "HDUCE <no-reply@hduce.local>"
    assert settings.outbox.poll_interval == 0.5
    assert settings.reminders.offsets == (timedelta(hours=24), timedelta(hours=1))
    assert settings.default_timezone == "UTC"


def test_development_without_jwt_secret_generates_one_per_process() -> None:
    first, second = Settings.from_env({}), Settings.from_env({})

    assert first.auth.jwt_secret_is_ephemeral
    assert len(first.auth.jwt_secret.reveal()) >= 32
    assert first.auth.jwt_secret != second.auth.jwt_secret


def test_production_requires_jwt_secret() -> None:
    message = refusal({"HDUCE_ENV": "production"})

    assert message.startswith("HDUCE_JWT_SECRET")
    assert "production" in message


def test_configured_jwt_secret_is_used_and_never_shown() -> None:
    settings = Settings.from_env({"HDUCE_ENV": "production", "HDUCE_JWT_SECRET": GOOD_SECRET})

    assert settings.auth.jwt_secret.reveal() == GOOD_SECRET
    assert not settings.auth.jwt_secret_is_ephemeral
    assert GOOD_SECRET not in repr(settings)


def test_production_without_a_totp_key_has_no_two_factor_and_refuses_the_policy() -> None:
    base = {"HDUCE_ENV": "production", "HDUCE_JWT_SECRET": GOOD_SECRET}
    settings = Settings.from_env(base)
    assert settings.two_factor.encryption_key is None
    assert not settings.two_factor.require_admin

    message = refusal({**base, "HDUCE_REQUIRE_ADMIN_2FA": "true"})
    assert message.startswith("HDUCE_TOTP_ENCRYPTION_KEY is unset")

    key = "k" * 31 + "-totp"
    settings = Settings.from_env(
        {**base, "HDUCE_REQUIRE_ADMIN_2FA": "true", "HDUCE_TOTP_ENCRYPTION_KEY": key}
    )
    assert settings.two_factor.require_admin
    assert settings.two_factor.encryption_key is not None
    assert settings.two_factor.encryption_key.reveal() == key
    assert key not in repr(settings)


def test_the_admin_policy_reads_true_or_false_only() -> None:
    assert Settings.from_env({"HDUCE_REQUIRE_ADMIN_2FA": "TRUE"}).two_factor.require_admin
    assert not Settings.from_env({}).two_factor.require_admin
    assert refusal({"HDUCE_REQUIRE_ADMIN_2FA": "1"}).startswith("HDUCE_REQUIRE_ADMIN_2FA='1'")


def test_short_jwt_secret_is_refused_without_echoing_it() -> None:
    message = refusal({"HDUCE_JWT_SECRET": "hunter2-hunter2"})

    assert message.startswith("HDUCE_JWT_SECRET=")
    assert "hunter2" not in message
    assert "32" in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HDUCE_HTTP_PORT", "abc", "expected an integer 1..65535"),
        ("HDUCE_HTTP_PORT", "0", "expected an integer 1..65535"),
        ("HDUCE_HTTP_PORT", "70000", "expected an integer 1..65535"),
        ("HDUCE_HTTP_HOST", "local host", "host"),
        ("HDUCE_HTTP_WORKERS", "0", "integer"),
        ("HDUCE_DATABASE_URL", "mysql://db/hduce", "postgresql"),
        ("HDUCE_DATABASE_URL", "not a url", "URL"),
        ("HDUCE_REDIS_URL", "localhost:6379", "redis://"),
        ("HDUCE_BROKER_URL", "mqtt://broker", "amqp"),
        ("HDUCE_BROKER_URL", "kafka://host-without-port", "kafka://host:port"),
        ("HDUCE_LOG_LEVEL", "LOUD", "DEBUG"),
        ("HDUCE_LOG_FORMAT", "xml", "auto, json, console"),
        ("HDUCE_ENV", "staging", "development, production"),
        ("HDUCE_SMTP_URL", "http://mail", "smtp://"),
        ("HDUCE_EMAIL_FROM", "nobody", "address"),
        ("HDUCE_OUTBOX_POLL_INTERVAL", "soon", "seconds"),
        ("HDUCE_OUTBOX_POLL_INTERVAL", "0", "seconds"),
        ("HDUCE_REMINDER_OFFSETS", "24h,tomorrow", "durations"),
        ("HDUCE_REMINDER_OFFSETS", "24h,0s", "positive"),
        ("HDUCE_DEFAULT_TIMEZONE", "Mars/Olympus_Mons", "IANA"),
        ("HDUCE_PUBLIC_URL", "http://app.example.org", "https://"),
        ("HDUCE_PASSWORD_RESET_TTL", "1m", "5m"),
        ("HDUCE_EMAIL_VERIFICATION_TTL", "90d", "30d"),
        ("HDUCE_PASSWORD_SETUP_TTL", "31d", "30d"),
        ("HDUCE_REQUIRE_VERIFIED_EMAIL_TO_BOOK", "1", "true or false"),
    ],
)
def test_bad_value_names_variable_value_and_expectation(
    name: str, value: str, expected: str
) -> None:
    message = refusal({name: value})

    assert message.startswith(f"{name}=")
    assert value in message
    assert expected in message


def test_emailed_links_and_the_booking_rule() -> None:
    default = Settings.from_env({}).account_links
    assert default.public_url == "http://127.0.0.1:8000"
    assert default.password_reset_ttl == timedelta(minutes=30)
    assert default.email_verification_ttl == timedelta(hours=48)
    assert default.password_setup_ttl == timedelta(days=7)
    assert default.require_verified_email_to_book is True
    chosen = Settings.from_env(
        {
            "HDUCE_PUBLIC_URL": "https://app.example.org",
            "HDUCE_PASSWORD_RESET_TTL": "15m",
            "HDUCE_PASSWORD_SETUP_TTL": "3d",
            "HDUCE_REQUIRE_VERIFIED_EMAIL_TO_BOOK": "False",
        }
    ).account_links
    assert chosen.public_url == "https://app.example.org"
    assert chosen.password_reset_ttl == timedelta(minutes=15)
    assert chosen.password_setup_ttl == timedelta(days=3)
    assert chosen.require_verified_email_to_book is False


def test_error_message_format_is_the_documented_one() -> None:
    assert refusal({"HDUCE_HTTP_PORT": "abc"}) == (
        "HDUCE_HTTP_PORT='abc': expected an integer 1..65535"
    )


def test_passwords_in_urls_are_redacted_from_errors() -> None:
    message = refusal({"HDUCE_DATABASE_URL": "mysql://root:topsecret@db/hduce"})

    assert "topsecret" not in message
    assert "root:***@db" in message


def test_unknown_hduce_variable_is_refused_with_a_suggestion() -> None:
    message = refusal({"HDUCE_HTTP_PROT": "8080"})

    assert message.startswith("HDUCE_HTTP_PROT")
    assert "unknown" in message
    assert "HDUCE_HTTP_PORT" in message


def test_test_variables_and_other_prefixes_are_ignored() -> None:
    Settings.from_env({"HDUCE_TEST_POSTGRES_URL": "postgresql://x", "HOME": "/root", "HDUCEX": "1"})


def test_empty_value_means_unset() -> None:
    settings = Settings.from_env({"HDUCE_REDIS_URL": "", "HDUCE_HTTP_PORT": "  "})

    assert settings.redis is None
    assert settings.http.port == 8000


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("postgresql://u:p@db:5432/hduce", "postgresql+asyncpg://u:p@db:5432/hduce"),
        ("postgres://u:p@db/hduce", "postgresql+asyncpg://u:p@db/hduce"),
        ("postgresql+asyncpg://u:p@db/hduce", "postgresql+asyncpg://u:p@db/hduce"),
        ("sqlite:///./x.sqlite3", "sqlite+aiosqlite:///./x.sqlite3"),
        ("sqlite+aiosqlite:////tmp/x.sqlite3", "sqlite+aiosqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_url_is_normalised_to_async_drivers(given: str, normalised: str) -> None:
    settings = Settings.from_env({"HDUCE_DATABASE_URL": given})

    assert settings.database.url == normalised


def test_postgres_backend_is_detected() -> None:
    assert (
        Settings.from_env({"HDUCE_DATABASE_URL": "postgres://db/x"}).database.backend
        == "postgresql"
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("amqp://guest:guest@localhost:5672/", "rabbit"),
        ("amqps://rabbit.example.org/", "rabbit"),
        ("kafka://localhost:9092", "kafka"),
        ("redis://localhost:6379/1", "redis"),
        ("rediss://cache.example.org:6380/0", "redis"),
        ("nats://localhost:4222", "nats"),
    ],
)
def test_broker_scheme_picks_the_broker(url: str, kind: str) -> None:
    broker = Settings.from_env({"HDUCE_BROKER_URL": url}).broker

    assert broker is not None
    assert (broker.kind, broker.url) == (kind, url)


def test_kafka_url_lists_bootstrap_servers() -> None:
    broker = Settings.from_env({"HDUCE_BROKER_URL": "kafka://k1:9092, k2:19092"}).broker

    assert broker is not None
    assert broker.servers == ("k1:9092", "k2:19092")


def test_smtp_url_is_parsed_and_password_kept_secret() -> None:
    smtp = Settings.from_env(
        {"HDUCE_SMTP_URL": "smtps://mailer%40x.org:p%40ss@mail.x.org"}
    ).delivery.smtp

    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.implicit_tls, smtp.starttls) == (
        "mail.x.org",
        465,
        True,
        False,
    )
    assert smtp.username == "mailer@x.org"
    assert smtp.password is not None
    assert smtp.password.reveal() == "p@ss"
    assert "p@ss" not in repr(smtp)


def test_plain_smtp_defaults_to_port_25() -> None:
    smtp = Settings.from_env({"HDUCE_SMTP_URL": "smtp://localhost"}).delivery.smtp

    assert smtp is not None
    assert (smtp.port, smtp.username, smtp.password, smtp.implicit_tls) == (25, None, None, False)


SMS = {
    "HDUCE_SMS_API_URL": "https://api.sms.example/2010-04-01/",
    "HDUCE_SMS_ACCOUNT_SID": "AC123",
    "HDUCE_SMS_AUTH_TOKEN": "token-xyz",
    "HDUCE_SMS_FROM": "+15005550006",
}


def test_sms_settings_all_given() -> None:
    sms = Settings.from_env(SMS).delivery.sms

    assert sms is not None
    assert sms.api_url == "https://api.sms.example/2010-04-01"
    assert sms.auth_token.reveal() == "token-xyz"
    assert "token-xyz" not in repr(sms)


def test_sms_settings_are_all_or_none() -> None:
    partial = {k: v for k, v in SMS.items() if k != "HDUCE_SMS_AUTH_TOKEN"}

    message = refusal(partial)

    assert message.startswith("HDUCE_SMS_AUTH_TOKEN is unset")


def test_reminder_offsets_accept_compound_durations_and_none() -> None:
    offsets = Settings.from_env({"HDUCE_REMINDER_OFFSETS": "1h30m, 2d,90m"}).reminders.offsets

    assert offsets == (timedelta(days=2), timedelta(minutes=90))
    assert Settings.from_env({"HDUCE_REMINDER_OFFSETS": "none"}).reminders.offsets == ()


def test_poll_interval_accepts_milliseconds() -> None:
    assert Settings.from_env({"HDUCE_OUTBOX_POLL_INTERVAL": "250ms"}).outbox.poll_interval == 0.25


def test_log_level_is_case_insensitive() -> None:
    assert Settings.from_env({"HDUCE_LOG_LEVEL": "debug"}).logging.level == "DEBUG"


def test_docs_table_covers_exactly_what_the_parser_accepts() -> None:
    names = [name for name, _, _ in SETTINGS_DOC]
    table = render_settings_markdown()

    assert len(names) == len(set(names))
    for name in names:
        assert f"`{name}`" in table
    # Every documented variable is accepted (not "unknown"); values chosen to be valid.
    Settings.from_env({name: "" for name in names})
    for required in (
        "HDUCE_HTTP_PORT",
        "HDUCE_DATABASE_URL",
        "HDUCE_BROKER_URL",
        "HDUCE_JWT_SECRET",
    ):
        assert required in names


def test_every_declared_variable_is_in_the_table() -> None:
    declared = [value for value in vars(variables).values() if isinstance(value, Variable)]

    assert set(declared) == set(VARIABLES)


def test_hsts_max_age_is_a_year_by_default_and_bounded() -> None:
    assert Settings.from_env({}).http.hsts_max_age == timedelta(days=365)
    assert Settings.from_env({"HDUCE_HSTS_MAX_AGE": "0"}).http.hsts_max_age == timedelta(0)
    assert Settings.from_env({"HDUCE_HSTS_MAX_AGE": "2h"}).http.hsts_max_age == timedelta(hours=2)
    assert refusal({"HDUCE_HSTS_MAX_AGE": "3y"}).startswith("HDUCE_HSTS_MAX_AGE='3y': expected")
    assert "730d" in refusal({"HDUCE_HSTS_MAX_AGE": "1000d"})


def test_metrics_port_is_off_by_default_and_not_the_http_port() -> None:
    assert Settings.from_env({}).http.metrics_port is None
    assert Settings.from_env({"HDUCE_METRICS_PORT": "9100"}).http.metrics_port == 9100
    assert refusal({"HDUCE_METRICS_PORT": "8000"}) == (
        "HDUCE_METRICS_PORT=8000: expected a port other than HDUCE_HTTP_PORT"
    )
    assert refusal({"HDUCE_METRICS_PORT": "0"}).startswith("HDUCE_METRICS_PORT='0': expected")


def test_devices_are_off_until_an_mqtt_url_is_set() -> None:
    off = Settings.from_env({}).devices
    assert (off.mqtt_url, off.topic_prefix, off.online_window) == (None, "hduce", 120.0)
    on = Settings.from_env(
        {
            "HDUCE_MQTT_URL": "mqtt://kiosks:pw@127.0.0.1:1883",
            "HDUCE_MQTT_TOPIC_PREFIX": "clinic-7/hduce",
            "HDUCE_DEVICE_ONLINE_WINDOW": "5m",
        }
    )
    assert on.devices.mqtt_url == "mqtt://kiosks:pw@127.0.0.1:1883"
    assert (on.devices.topic_prefix, on.devices.online_window) == ("clinic-7/hduce", 300.0)
    assert "pw" not in str(on.summary())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HDUCE_MQTT_URL", "http://127.0.0.1:1883"),
        ("HDUCE_MQTT_URL", "mqtt://"),
        ("HDUCE_MQTT_URL", "mqtt://host:port"),
        ("HDUCE_MQTT_TOPIC_PREFIX", "hduce/+/x"),
        ("HDUCE_MQTT_TOPIC_PREFIX", "$SYS"),
        ("HDUCE_MQTT_TOPIC_PREFIX", "a//b"),
        ("HDUCE_DEVICE_ONLINE_WINDOW", "2d"),
    ],
)
def test_device_settings_are_refused_when_malformed(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
