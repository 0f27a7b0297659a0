"""What every ``hduce`` command shares: reading the configuration, the exit statuses.

Here rather than in ``hduce.entrypoints.cli``, which imports every command: a command
importing the group's module back would close an import circle.
"""

from __future__ import annotations

import click

from hduce.bootstrap.settings import Settings, SettingsError
from hduce.bootstrap.tracing import check_tracing_installed

USAGE_ERROR = 2
FAILURE = 1


def load_settings() -> Settings:
    """Settings from the environment, or exit 2 with the one-line reason."""
    try:
        settings = Settings.from_env()
        check_tracing_installed(settings)
    except SettingsError as exc:
        click.echo(f"hduce: configuration error: {exc}", err=True)
        raise SystemExit(USAGE_ERROR) from None
    return settings
