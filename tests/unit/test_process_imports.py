"""What the API and worker processes keep in memory: no Alembic (nor Mako), which only
migrations need; without a broker, FastStream and
the four broker clients are never imported, and with one only its own client is; authlib only with Google sign-in; icalendar
only when a calendar file is asked for; HDUCE's tracing (the OpenTelemetry SDK's tracer,
its exporter, the SQL instrumentation) only with HDUCE_OTLP_ENDPOINT. (Installed, the
``tracing`` extra is still partly loaded by Litestar and redis-py themselves.) redis-py
(about 20 MB) only with HDUCE_REDIS_URL; httpx only with an SMS provider (or Google
sign-in); asyncpg only on PostgreSQL; segno and ua-parser at their first use; neither
Litestar nor advanced-alchemy in the worker; joserfc (with cryptography), argon2-cffi and pyotp only at
their first use, so never in the worker; Rich (structlog's optional import) only for an
exception logged to a console; redis-py without the OpenTelemetry SDK. (RSS is measured
in bench/, "Resident memory"; this pins the imports that make most of the difference.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

UNUSED = (
    # Migrations run in ``hduce serve``'s supervisor and ``hduce db``, never here.
    "alembic",
    "mako",
    "faststream",
    "aiokafka",
    "aio_pika",
    "nats",
    "authlib",
    "icalendar",
    "hduce.adapters.telemetry",
    "opentelemetry.sdk.trace",
    "opentelemetry.instrumentation.asyncpg",
    # Not configured on the embedded defaults (SQLite, no Redis, no SMS provider).
    "redis",
    "httpx",
    "asyncpg",
    # Loaded at their first use (a 2FA enrolment, a sign-in), not at start.
    "segno",
    "ua_parser",
)

API = "from hduce.entrypoints.asgi import build_api_app\nbuild_api_app()\n"
# In the order of ``hduce worker``: the worker package first.
WORKER = (
    "from hduce.entrypoints.worker.runner import run_worker\n"
    "from hduce.bootstrap.background import background_services\n"
    "from hduce.bootstrap.container import build_container\n"
    "from hduce.bootstrap.settings import Settings\n"
    "import os\n"
    "settings = Settings.from_env(dict(os.environ))\n"
    "list(background_services(build_container(settings), settings, mode='worker'))\n"
)


def _loaded(
    program: str,
    tmp_path: Path,
    unused: tuple[str, ...] = UNUSED,
    **settings: str,
) -> list[str]:
    probe = program + (
        f"import sys\nprint('LOADED:' + ','.join(m for m in {unused!r} if m in sys.modules))"
    )
    [line] = [line for line in _run(probe, tmp_path, **settings) if line.startswith("LOADED:")]
    return [name for name in line.removeprefix("LOADED:").split(",") if name]


def _run(program: str, tmp_path: Path, **settings: str) -> list[str]:
    """The lines ``program`` prints (stdout), run in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDUCE_")} | {
        "HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        "HDUCE_JWT_SECRET": "process-imports-secret-0123456789abcdef",
        **settings,
    }
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_api_process_loads_no_broker_client_nor_unused_libraries(tmp_path: Path) -> None:
    assert _loaded(API, tmp_path) == []


def test_an_in_process_worker_loads_no_broker_client(tmp_path: Path) -> None:
    assert _loaded(WORKER, tmp_path) == []


def test_a_worker_loads_neither_the_http_api_nor_an_http_server(tmp_path: Path) -> None:
    # Its own endpoints (HDUCE_WORKER_HTTP_PORT) load uvicorn only when the port is set.
    assert _loaded(WORKER, tmp_path, ("hduce.entrypoints.http", "uvicorn", "granian")) == []


def test_a_worker_loads_no_litestar_nor_advanced_alchemy(tmp_path: Path) -> None:
    # advanced-alchemy: about 13 MB beyond SQLAlchemy, and it imports Litestar when
    # installed; the column types are HDUCE's own (hduce.adapters.sql.types).
    unused = ("litestar", "yaml", "jinja2", "advanced_alchemy")
    assert _loaded(WORKER, tmp_path, unused) == []
    assert _loaded(WORKER, tmp_path, unused, **WORKER_SERVICES) == []


def test_the_api_loads_no_advanced_alchemy(tmp_path: Path) -> None:
    # Litestar's pagination would import it (hduce.entrypoints._litestar says how not):
    # about 7 MB; migrations, its only use, run in other processes.
    assert _loaded(API, tmp_path, ("advanced_alchemy",)) == []
    assert _loaded(API, tmp_path, ("advanced_alchemy",), **WORKER_SERVICES) == []


def test_a_readiness_check_loads_neither_alembic_nor_advanced_alchemy(tmp_path: Path) -> None:
    # The migrations probe reads the revision graph from the scripts' text: Alembic's
    # ScriptDirectory imported every script, and with them about 20 MB of modules.
    ready = (
        "from hduce.entrypoints.asgi import build_api_app\n"
        "app = build_api_app()\n"
        # Once Litestar is loaded (as the API loads it): litestar.testing alone would
        # import advanced-alchemy through Litestar's pagination.
        "from litestar.testing import TestClient\n"
        "with TestClient(app) as client:\n"
        "    answer = client.get('/health/ready').json()\n"
        "assert answer['checks']['migrations']['status'] == 'down', answer\n"
    )
    assert _loaded(ready, tmp_path, ("alembic", "mako", "advanced_alchemy")) == []


def test_redis_py_loads_when_redis_is_configured(tmp_path: Path) -> None:
    # The other side of "redis" in UNUSED: with HDUCE_REDIS_URL the Redis providers are
    # wired (building the container checks the graph; nothing connects yet).
    redis = {"HDUCE_REDIS_URL": "redis://127.0.0.1:1/0"}
    assert _loaded(API, tmp_path, ("redis",), **redis) == ["redis"]
    assert _loaded(WORKER, tmp_path, ("redis",), **redis) == ["redis"]


# ``hduce worker`` with a broker, as far as it goes without one answering: the broker
# with its subscribers and publishers (FastStream objects only; nothing connects).
WORKER_WITH_BROKER = WORKER + (
    "import asyncio\n"
    "from hduce.bootstrap.messaging import consuming_broker\n"
    "async def main():\n"
    "    container = build_container(settings)\n"
    "    assert await consuming_broker(container, settings) is not None\n"
    "    await container.close()\n"
    "asyncio.run(main())\n"
)
BROKER_CLIENTS = {
    "amqp://guest:guest@127.0.0.1:1/": "aio_pika",
    "kafka://127.0.0.1:1": "aiokafka",
    "nats://127.0.0.1:1": "nats",
    "redis://127.0.0.1:1/0": "redis",
}


# ``hduce worker`` as the bench runs it (bench/hbench/scenarios.py, "workers"): PostgreSQL
# and Redis, JSON logs. It signs no token, hashes no password and checks no TOTP code.
WORKER_SERVICES = {
    "HDUCE_ENV": "production",
    "HDUCE_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/postgres",
    "HDUCE_REDIS_URL": "redis://127.0.0.1:1/0",
    "HDUCE_LOG_FORMAT": "json",
}
CREDENTIAL_LIBRARIES = ("joserfc", "argon2", "pyotp", "hduce.adapters.security.tokens")


#: structlog's optional Rich (hduce.entrypoints) and redis-py's optional metrics SDK
#: (hduce.adapters.redis), each imported with the other marked missing.
OPTIONAL_IMPORTS = ("rich", "pygments", "opentelemetry.sdk")


def test_a_worker_loads_no_credential_library(tmp_path: Path) -> None:
    # joserfc (which loads cryptography's key classes) and argon2-cffi: about 12 MB.
    assert _loaded(WORKER, tmp_path, CREDENTIAL_LIBRARIES, **WORKER_SERVICES) == []
    assert "cryptography.hazmat" not in _loaded(
        WORKER, tmp_path, ("cryptography.hazmat",), **WORKER_SERVICES
    )


# A token signed, a password hashed, a TOTP code made: each adapter loads its library then.
FIRST_CREDENTIAL_USES = (
    "import asyncio, os\n"
    "from hduce.application.ports import AccessTokenIssuer, PasswordHasher\n"
    "from hduce.application.ports.second_factor import OneTimePasswords\n"
    "from hduce.bootstrap.container import build_container\n"
    "from hduce.bootstrap.settings import Settings\n"
    "async def use():\n"
    "    container = build_container(Settings.from_env(dict(os.environ)))\n"
    "    for port in (AccessTokenIssuer, PasswordHasher, OneTimePasswords):\n"
    "        await container.get(port)\n"
    "    await container.close()\n"
    "asyncio.run(use())\n"
)


def test_neither_structlog_nor_redis_py_load_their_optional_libraries(tmp_path: Path) -> None:
    # Rich and Pygments about 4 MB, OpenTelemetry's SDK 2.5 MB, in every process.
    assert _loaded(WORKER, tmp_path, OPTIONAL_IMPORTS, **WORKER_SERVICES) == []
    assert _loaded(API, tmp_path, OPTIONAL_IMPORTS, **WORKER_SERVICES) == []


def test_the_credential_libraries_load_at_their_first_use(tmp_path: Path) -> None:
    assert _loaded(API, tmp_path, CREDENTIAL_LIBRARIES) == []
    assert _loaded(FIRST_CREDENTIAL_USES, tmp_path, CREDENTIAL_LIBRARIES) == list(
        CREDENTIAL_LIBRARIES
    )


def test_a_worker_with_a_broker_loads_that_brokers_client_only(tmp_path: Path) -> None:
    # The four FastStream integrations weigh about 30 MB together (redis-py 17).
    for url, client in BROKER_CLIENTS.items():
        loaded = _loaded(
            WORKER_WITH_BROKER, tmp_path, tuple(BROKER_CLIENTS.values()), HDUCE_BROKER_URL=url
        )
        assert loaded == [client], url


# ``hduce`` (its CLI module first), logging configured, then an exception logged.
LOG_AN_EXCEPTION = (
    "import logging, os, sys\n"
    "import hduce.entrypoints.cli\n"
    "from hduce.bootstrap.logging import configure_logging\n"
    "from hduce.bootstrap.settings import Settings\n"
    "configure_logging(Settings.from_env(dict(os.environ)))\n"
    "print('RICH AT START:', 'rich' in sys.modules)\n"
    "try:\n"
    "    1 / 0\n"
    "except ZeroDivisionError:\n"
    "    logging.getLogger('hduce.probe').exception('it failed')\n"
)


def test_json_logs_load_no_rich(tmp_path: Path) -> None:
    # structlog imports Rich for its console tracebacks (hduce.entrypoints explains how
    # not); JSON lines format exceptions with the standard library.
    program = (
        LOG_AN_EXCEPTION + "print('LOADED:', 'rich' in sys.modules, 'pygments' in sys.modules)\n"
    )
    lines = _run(program, tmp_path, HDUCE_LOG_FORMAT="json")
    assert "RICH AT START: False" in lines
    assert "LOADED: False False" in lines
    [failed] = [json.loads(line) for line in lines if line.startswith("{")]
    assert failed["event"] == "it failed"
    assert "ZeroDivisionError: division by zero" in failed["exception"]


def test_console_logs_draw_rich_tracebacks_loading_rich_at_the_first(tmp_path: Path) -> None:
    lines = _run(LOG_AN_EXCEPTION, tmp_path, HDUCE_LOG_FORMAT="console")
    assert "RICH AT START: False" in lines
    text = "\n".join(lines)
    assert "Traceback (most recent call last)" in text  # Rich's panel title
    assert "╭" in text  # the panel itself
    assert "ZeroDivisionError: division by zero" in text
