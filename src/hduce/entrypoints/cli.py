"""The ``hduce`` command.

``cli`` is a click group: further commands (``worker``, ``db upgrade``,
``seed-demo``, ``create-admin``) attach with ``@cli.command()`` /
``@cli.group()`` and read configuration with ``load_settings()``
(``hduce.entrypoints.commands.common``), which turns a bad ``HDUCE_*`` value into
one line on stderr and exit status 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click
import structlog

from hduce.bootstrap.logging import configure_logging, logging_dict_config
from hduce.bootstrap.settings import SettingsError, render_settings_markdown
from hduce.bootstrap.tracing import configure_tracing
from hduce.entrypoints.commands.common import USAGE_ERROR, load_settings
from hduce.entrypoints.commands.create_admin import create_admin
from hduce.entrypoints.commands.keys import keys
from hduce.entrypoints.commands.seed_demo import seed_demo
from hduce.entrypoints.port_guard import claim_port, refuse_taken_port, server_url

if TYPE_CHECKING:
    from hduce.entrypoints.asgi import AppMode
else:  # the CLI stays quick to start: the HTTP stack loads only to serve
    AppMode = Literal["all", "api"]

# granian imports "module:attribute" in each worker and calls it (factory=True).
_APP_FACTORIES: dict[AppMode, str] = {
    "all": "hduce.entrypoints.asgi:build_app",
    "api": "hduce.entrypoints.asgi:build_api_app",
}

_T = TypeVar("_T")


def _has_uvloop() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def run_on_best_loop(main: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run`` on uvloop when it is installed (faster I/O and callbacks), else
    on asyncio's own loop. The long-running worker runs this way; so does HTTP (granian)."""
    if _has_uvloop():
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hduce", prog_name="hduce")
def cli() -> None:
    """HDUCE: medical appointments without double-booking."""


def _server_options(command: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--host", help="Bind address [default: HDUCE_HTTP_HOST]."),
        click.option(
            "--port",
            type=click.IntRange(1, 65535),
            help="TCP port [default: HDUCE_HTTP_PORT].",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1, 512),
            help="Worker processes [default: HDUCE_HTTP_WORKERS].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@_server_options
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Everything in one process: HTTP API, outbox relay, consumers, reminders.

    Applies pending migrations first: the all-in-one process is the only one
    running, so nothing else can race it (``hduce api`` never migrates).
    """
    settings = load_settings()
    configure_logging(settings)
    refuse_taken_port(host or settings.http.host, port or settings.http.port)  # before migrating
    _migrate_in_a_child_process()
    _run_server("all", host, port, workers)


def _migrate_in_a_child_process() -> None:
    """Apply pending migrations in a fresh Python process and wait for it.

    The HTTP worker processes are forked from this one, and a forked process keeps
    every page of its parent in its resident memory: migrating here would leave
    Alembic, Mako, SQLAlchemy and the migration's garbage (about 10 MB) in each of them.
    A failed migration ends ``hduce serve`` with the child's exit status.
    """
    # A plain subprocess rather than multiprocessing's spawn, which would leave its
    # resource-tracker process running beside the server.
    program = "from hduce.entrypoints.cli import _migrate; _migrate()"
    status = subprocess.run([sys.executable, "-c", program], check=False).returncode  # noqa: S603
    if status:
        raise SystemExit(status)


def _migrate() -> None:
    # The child reads the same HDUCE_* environment as its parent.
    from hduce.bootstrap import database

    settings = load_settings()
    configure_logging(settings)
    asyncio.run(database.upgrade(settings))


@cli.command()
@_server_options
def api(host: str | None, port: int | None, workers: int | None) -> None:
    """HTTP API only; run `hduce worker` for consumers and reminders."""
    _run_server("api", host, port, workers)


@cli.command()
def worker() -> None:
    """Outbox relay, event consumers, reminders and expiry sweeps; no HTTP.

    Pair it with `hduce api` processes; run as many of each as needed.
    """
    from hduce.entrypoints.worker.runner import run_worker

    settings = load_settings()
    configure_logging(settings)
    configure_tracing(settings)
    run_on_best_loop(run_worker(settings))


@cli.command("settings")
def settings_table() -> None:
    """Print every HDUCE_* variable as a Markdown table (the README's source)."""
    click.echo(render_settings_markdown(), nl=False)


@cli.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Migrate the database (HDUCE_DATABASE_URL) up to REVISION; creates it if empty."""
    from hduce.bootstrap import database

    settings = load_settings()
    configure_logging(settings)
    asyncio.run(database.upgrade(settings, revision))
    click.echo(f"database at {asyncio.run(database.current(settings))}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" empties it)."""
    from hduce.bootstrap import database

    settings = load_settings()
    configure_logging(settings)
    asyncio.run(database.downgrade(settings, revision))
    click.echo(f"database at {asyncio.run(database.current(settings))}")


@db.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    from hduce.bootstrap import database

    settings = load_settings()
    click.echo(asyncio.run(database.current(settings)) or "empty (no migration applied)")


cli.add_command(create_admin)
cli.add_command(seed_demo)
cli.add_command(keys)


def _run_server(mode: AppMode, host: str | None, port: int | None, workers: int | None) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    from hduce.bootstrap.multiprocess import multiprocess_directory

    settings = load_settings()
    configure_logging(settings)
    log = structlog.get_logger("hduce.cli")
    host = host or settings.http.host
    port = port or settings.http.port
    workers = workers or settings.http.workers
    port_claim = claim_port(host, port)  # held until the server stops
    if settings.auth.jwt_secret_is_ephemeral:
        # Workers are separate processes: give them one shared secret, or a token
        # issued by one worker would be refused by the next.
        os.environ["HDUCE_JWT_SECRET"] = settings.auth.jwt_secret.reveal()
        log.warning(
            "HDUCE_JWT_SECRET is unset: using a random secret until this server stops; "
            "set it outside development."
        )
    # Workers read their settings from the environment: give them the command line's.
    # Who serves a separate metrics port depends on the worker count (bootstrap.metrics).
    os.environ["HDUCE_HTTP_HOST"], os.environ["HDUCE_HTTP_WORKERS"] = host, str(workers)
    url = server_url(host, port)
    log.info("starting", mode=mode, url=url, docs=f"{url}/schema", workers=workers)
    server = Granian(
        _APP_FACTORIES[mode],
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        # uvloop by name: granian's "auto" would prefer rloop, should it ever get installed.
        loop=Loops.uvloop if _has_uvloop() else Loops.asyncio,
        log_level=LogLevels(settings.logging.level.lower()),
        log_dictconfig=logging_dict_config(settings),
        log_access=False,  # our middleware writes the access log, with the request id
    )
    with contextlib.ExitStack() as stack:
        stack.callback(port_claim.close)
        # Before prometheus_client is imported here: the workers are forked from this
        # process and must count in files, so that /metrics reports all of them.
        stack.enter_context(multiprocess_directory(workers))
        from hduce.bootstrap.metrics import workers_metrics_listener

        try:
            stack.enter_context(workers_metrics_listener(settings, host, workers))
        except SettingsError as exc:
            click.echo(f"hduce: configuration error: {exc}", err=True)
            raise SystemExit(USAGE_ERROR) from None
        server.serve()


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``hduce``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="hduce")


if __name__ == "__main__":
    main()
