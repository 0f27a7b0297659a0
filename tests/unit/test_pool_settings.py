"""Connection pools: HDUCE_DATABASE_POOL_* and HDUCE_REDIS_* pool settings, their
defaults (which fit a default PostgreSQL, see the README's connection budget) and
their refusals."""

from __future__ import annotations

import pytest

from hduce.bootstrap.settings import Settings, SettingsError

REDIS = {"HDUCE_REDIS_URL": "redis://127.0.0.1:6379/0"}
#: PostgreSQL's default max_connections, less its superuser_reserved_connections.
POSTGRES_ORDINARY_CONNECTIONS = 100 - 3


def test_defaults_are_small_pools_that_wait() -> None:
    settings = Settings.from_env(REDIS)

    database = settings.database
    assert (database.pool_size, database.max_overflow, database.pool_timeout) == (5, 5, 10.0)
    assert settings.redis is not None
    assert (settings.redis.max_connections, settings.redis.pool_timeout) == (50, 5.0)


def test_default_split_deployment_fits_a_default_postgresql_with_room_to_spare() -> None:
    """The README's arithmetic: ``hduce api --workers 4`` and two ``hduce worker``."""
    database = Settings.from_env({}).database
    processes = 4 + 2

    most = processes * (database.pool_size + database.max_overflow)

    assert most == 60
    # Room left for migrations, psql, monitoring and a rolling restart's overlap.
    assert POSTGRES_ORDINARY_CONNECTIONS - most >= 30


def test_pools_are_configurable() -> None:
    settings = Settings.from_env(
        {
            **REDIS,
            "HDUCE_DATABASE_POOL_SIZE": "1",
            "HDUCE_DATABASE_MAX_OVERFLOW": "0",
            "HDUCE_DATABASE_POOL_TIMEOUT": "500ms",
            "HDUCE_REDIS_MAX_CONNECTIONS": "2",
            "HDUCE_REDIS_POOL_TIMEOUT": "0.25",
        }
    )

    database = settings.database
    assert (database.pool_size, database.max_overflow, database.pool_timeout) == (1, 0, 0.5)
    assert settings.redis is not None
    assert (settings.redis.max_connections, settings.redis.pool_timeout) == (2, 0.25)


def test_redis_pool_settings_without_redis_change_nothing() -> None:
    settings = Settings.from_env({"HDUCE_REDIS_MAX_CONNECTIONS": "7"})

    assert settings.redis is None


def test_startup_summary_shows_the_pools() -> None:
    summary = Settings.from_env(REDIS).summary()

    assert summary["database_pool"] == "5+5 (wait 10 s)"
    assert summary["redis_pool"] == "50 (wait 5 s)"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HDUCE_DATABASE_POOL_SIZE", "0", "an integer 1..1000"),
        ("HDUCE_DATABASE_POOL_SIZE", "-1", "an integer 1..1000"),
        ("HDUCE_DATABASE_POOL_SIZE", "ten", "an integer 1..1000"),
        ("HDUCE_DATABASE_POOL_SIZE", "2.5", "an integer 1..1000"),
        ("HDUCE_DATABASE_MAX_OVERFLOW", "-1", "an integer 0..1000"),
        ("HDUCE_DATABASE_MAX_OVERFLOW", "1001", "an integer 0..1000"),
        ("HDUCE_DATABASE_POOL_TIMEOUT", "0", "seconds > 0 and <= 300"),
        ("HDUCE_DATABASE_POOL_TIMEOUT", "-5", "seconds > 0 and <= 300"),
        ("HDUCE_DATABASE_POOL_TIMEOUT", "forever", "seconds > 0 and <= 300"),
        ("HDUCE_DATABASE_POOL_TIMEOUT", "1h", "seconds > 0 and <= 300"),
        ("HDUCE_REDIS_MAX_CONNECTIONS", "0", "an integer 1..10000"),
        ("HDUCE_REDIS_MAX_CONNECTIONS", "lots", "an integer 1..10000"),
        ("HDUCE_REDIS_POOL_TIMEOUT", "0ms", "seconds > 0 and <= 300"),
        ("HDUCE_REDIS_POOL_TIMEOUT", "never", "seconds > 0 and <= 300"),
    ],
)
def test_bad_pool_values_are_refused_in_one_line(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**REDIS, name: value})

    message = str(caught.value)
    assert message.startswith(f"{name}={value!r}: expected {expected}")
    assert "\n" not in message


def test_a_misspelt_pool_variable_is_refused_with_a_suggestion() -> None:
    with pytest.raises(SettingsError, match="did you mean HDUCE_DATABASE_POOL_SIZE"):
        Settings.from_env({"HDUCE_DATABASE_POOLSIZE": "3"})
