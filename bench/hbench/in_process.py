"""What the in-process CPU benches (``booking_cpu.py``, ``request_cpu.py``) share: the
service URLs' defaults, alternating rounds of child processes over several source
trees, and the child's set-up (its tree's ``hduce`` first on the path, the app's
settings, its JSON log in a file and the figures on the real stdout)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any


def add_service_urls(parser: argparse.ArgumentParser) -> None:
    """``--admin-url`` (PostgreSQL, may create databases) and ``--redis-url``, from
    ``HDUCE_BENCH_*``, then ``HDUCE_TEST_*``, then the local services."""
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("HDUCE_BENCH_POSTGRES_URL")
        or os.environ.get("HDUCE_TEST_POSTGRES_URL")
        or "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL URL allowed to create databases",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("HDUCE_BENCH_REDIS_URL")
        or os.environ.get("HDUCE_TEST_REDIS_URL")
        or "redis://127.0.0.1:6379/0",
    )


def alternate_rounds(
    trees: list[tuple[str, str]],
    rounds: int,
    child_argv: Callable[[str], list[str]],
    line: Callable[[dict[str, Any]], str],
) -> dict[str, list[dict[str, Any]]]:
    """Run ``child_argv(src)`` for each (name, src) tree, ``rounds`` times in turn; each
    child prints its figures as JSON on its last line. Returns the figures by tree."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in trees}
    for round_number in range(rounds):
        for name, src in trees:
            done = subprocess.run(child_argv(src), capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
                raise SystemExit(f"{name} run failed ({done.returncode})")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            results[name].append(figures)
            print(f"round {round_number + 1} {name:5} {src}: {line(figures)}", flush=True)
            if figures.get("profile"):
                print(figures["profile"], flush=True)
    return results


def run_child(
    args: argparse.Namespace,
    measure: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]],
    log_name: str,
) -> None:
    """A child run: ``measure(args)`` with the tree ``args.src`` imported. The app logs
    JSON to stdout (an access line per request, as the bench's servers do to a file):
    that cost is kept, the lines go to a file, the figures to the real stdout."""
    # The tree under test first: its ``hduce`` shadows the installed (editable) one.
    sys.path.insert(0, args.src)
    sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
    log_file = Path(tempfile.gettempdir()) / f"{log_name}-{os.getpid()}.log"
    out = os.dup(1)
    with log_file.open("w") as logs:
        os.dup2(logs.fileno(), 1)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        try:
            figures = asyncio.run(measure(args))
        except BaseException:
            os.write(out, f"the app's log: {log_file}\n".encode())
            raise
    os.write(out, (json.dumps(figures) + "\n").encode())
    log_file.unlink(missing_ok=True)


def configure_app(args: argparse.Namespace) -> None:
    """Check the child imported ``hduce`` from ``args.src``, and set the settings the
    bench's servers run with (``args.database`` on ``args.admin_url``'s server)."""
    from sqlalchemy.engine import make_url

    import hduce
    from hbench.clinic import JWT_AUDIENCE, JWT_ISSUER

    if not hduce.__file__ or not hduce.__file__.startswith(args.src):
        raise RuntimeError(f"imported hduce from {hduce.__file__}, not {args.src}")
    url = make_url(args.admin_url).set(drivername="postgresql", database=args.database)
    os.environ.update(
        {
            "HDUCE_ENV": "production",
            "HDUCE_JWT_SECRET": args.secret,
            "HDUCE_JWT_ISSUER": JWT_ISSUER,
            "HDUCE_JWT_AUDIENCE": JWT_AUDIENCE,
            "HDUCE_DATABASE_URL": url.render_as_string(hide_password=False),
            "HDUCE_REDIS_URL": args.redis_url,
            "HDUCE_LOG_FORMAT": "json",
            "HDUCE_LOG_LEVEL": "INFO",
        }
    )
