"""What a new user runs first, as real processes: a second server on a taken
port, and ``seed-demo`` telling who can sign in."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from hduce.domain.identity import Role
from tests.e2e.server import clean_environment, hduce_command, run_command, running_server

#: A refused start takes an interpreter start and imports (seconds on a busy
#: machine); a server that did start would run until stopped.
REFUSAL_DEADLINE = 60.0


@pytest.fixture(scope="module")
def first_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A development server with a random JWT secret, as ``make run`` starts it."""
    workdir = tmp_path_factory.mktemp("first-run")
    env = clean_environment(HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'db.sqlite3'}")
    with running_server(workdir, env) as base_url:
        yield base_url, workdir


@pytest.mark.parametrize("command", ["serve", "api"])
def test_a_second_server_on_a_taken_port_stops_with_a_clear_message(
    first_server: tuple[str, Path], command: str
) -> None:
    base_url, workdir = first_server
    port = urlsplit(base_url).port
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'db.sqlite3'}",
        HDUCE_HTTP_PORT=str(port),
    )
    second = subprocess.Popen(
        [*hduce_command(), command],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = second.communicate(timeout=REFUSAL_DEADLINE)
    except subprocess.TimeoutExpired:
        second.send_signal(signal.SIGTERM)  # granian stops its workers on SIGTERM
        second.communicate(timeout=30)
        pytest.fail(f"a second `hduce {command}` started on the taken port {port}")

    assert second.returncode != 0
    lines = stderr.strip().splitlines()
    assert lines[-1] == (
        f"hduce: http://127.0.0.1:{port} is already in use (another hduce server?): "
        "stop that process, or choose another port with --port or HDUCE_HTTP_PORT"
    ), stdout + stderr
    assert httpx.get(f"{base_url}/health", timeout=5).status_code == 200


def test_seed_demo_lists_every_account_with_its_role(tmp_path: Path) -> None:
    env = clean_environment(HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")

    output = run_command(["seed-demo", "--password", "demo-password-1"], env, tmp_path)

    assert "every account below signs in with password: demo-password-1" in output
    accounts = {}
    for line in output.splitlines():
        fields = line.split(maxsplit=2)
        if len(fields) == 3 and fields[1].endswith("@demo.hduce.local"):
            accounts[fields[1]] = Role(fields[0])
    assert accounts == {
        "admin@demo.hduce.local": Role.ADMIN,
        "lucia.romero@demo.hduce.local": Role.DOCTOR,
        "hugo.martin@demo.hduce.local": Role.DOCTOR,
        "grace.hopper@demo.hduce.local": Role.DOCTOR,
        "ana.garcia@demo.hduce.local": Role.PATIENT,
        "jorge.lopez@demo.hduce.local": Role.PATIENT,
        "maya.chen@demo.hduce.local": Role.PATIENT,
        "sam.taylor@demo.hduce.local": Role.PATIENT,
    }
    assert "demo clinic created: 8 accounts" in output
