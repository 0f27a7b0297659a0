"""``hduce --help`` and ``hduce settings`` stay quick: the CLI loads the HTTP stack, the
database layer and the container only for the commands that need them. (How quick is
measured in bench/, not here; this pins what the start-up imports.)"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("litestar", "sqlalchemy", "advanced_alchemy", "dishka", "granian", "faststream")


def test_the_cli_starts_without_the_http_stack_or_the_database_layer() -> None:
    probe = (
        "import sys, hduce.entrypoints.cli\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_the_worker_command_runs_on_uvloop() -> None:
    import asyncio

    import uvloop

    from hduce.entrypoints.cli import run_on_best_loop

    async def running_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert isinstance(run_on_best_loop(running_loop()), uvloop.Loop)
