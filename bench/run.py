"""``make bench``: HDUCE's speed figures, each beside GET /health measured in the same run.

Creates throwaway PostgreSQL databases, seeds a clinic, starts ``hduce serve`` (then
``hduce api`` + ``hduce worker``) on loopback with Redis, loads it with wrk, profiles
it with py-spy, and writes ``bench/results/<date>-<commit>[-<label>].md``. Numbers are
printed, never asserted. See bench/README.md.

    uv run python bench/run.py [--scenarios booking,list] [--quick] [--label baseline]

Scenarios: health, booking, list, me, sse, rss, sql, workers, size, cli, startup,
ceiling, auth (all by default). /health is always measured beside the load scenarios
(and beside ``ceiling``: pgbench replaying the application's booking and list SQL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import redis.asyncio as redis
from hbench import report
from hbench.in_process import add_service_urls
from hbench.scenarios import ALL_SCENARIOS, Bench, Config
from hbench.system import (
    ROOT,
    ensure_apt_tool,
    git,
    load_average,
    log,
    machine_facts,
    py_spy,
)
from sqlalchemy.engine import make_url


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--scenarios",
        default=os.environ.get("SCENARIOS") or "all",
        help=f"comma list among {', '.join(ALL_SCENARIOS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="short runs, small data (a smoke run)")
    parser.add_argument("--label", default="", help="appended to the results file name")
    parser.add_argument("--seconds", type=float, help="each measured load run (15; quick 4)")
    parser.add_argument("--warmup", type=float, help="warm-up before each load run (3; quick 1)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy runs")
    add_service_urls(parser)
    parser.add_argument(
        "--size-appointments", type=int, help="the 'large' database (1M; quick 100k)"
    )
    parser.add_argument("--log-level", default="INFO", help="HDUCE_LOG_LEVEL of the servers")
    parser.add_argument("--note", action="append", default=[], help="a line for the results file")
    parser.add_argument("--output-dir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--keep-work", action="store_true", help="keep logs and request files")
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    if args.scenarios.strip() in ("", "all"):
        scenarios = ALL_SCENARIOS
    else:
        scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
        unknown = sorted(set(scenarios) - set(ALL_SCENARIOS))
        if unknown:
            raise SystemExit(
                f"unknown scenarios: {', '.join(unknown)} (known: {', '.join(ALL_SCENARIOS)})"
            )
    quick = args.quick
    return Config(
        admin_url=args.admin_url,
        redis_url=args.redis_url,
        scenarios=scenarios,
        quick=quick,
        seconds=args.seconds or (4 if quick else 15),
        warmup=args.warmup if args.warmup is not None else (1 if quick else 3),
        profile_seconds=3 if quick else 8,
        profile=not args.no_profile,
        health_connections=_ints("16,64"),
        booking_connections=_ints("16,64"),
        read_connections=_ints("64"),
        size_connections=16,
        workers_connections=64,
        sse_samples=20 if quick else 100,
        sql_samples=15 if quick else 50,
        size_appointments=args.size_appointments or (100_000 if quick else 1_000_000),
        cli_runs=3 if quick else 10,
        startup_runs=1 if quick else 3,
        log_level=args.log_level,
    )


async def service_versions(config: Config) -> dict[str, str]:
    facts = {}
    try:
        dsn = make_url(config.admin_url).set(drivername="postgresql").render_as_string(False)
        connection = await asyncpg.connect(dsn)
        try:
            facts["postgresql server"] = str(await connection.fetchval("SHOW server_version"))
            facts["postgresql max_connections"] = str(
                await connection.fetchval("SHOW max_connections")
            )
            # What a commit waits for (the booking's ceiling depends on it).
            settings = []
            for name in ("fsync", "synchronous_commit", "wal_sync_method", "commit_delay"):
                settings.append(f"{name} {await connection.fetchval(f'SHOW {name}')}")
            facts["postgresql commit settings"] = ", ".join(settings)
        finally:
            await connection.close()
    except (OSError, asyncpg.PostgresError) as exc:
        facts["postgresql server"] = f"unreachable: {exc}"
    try:
        client = redis.from_url(config.redis_url)
        info = await client.info("server")
        facts["redis server"] = str(info.get("redis_version"))
        await client.aclose()
    except (OSError, redis.RedisError) as exc:
        facts["redis server"] = f"unreachable: {exc}"
    return facts


async def run(args: argparse.Namespace) -> tuple[str, str]:
    config = make_config(args)
    tools: dict[str, str | None] = {"wrk": ensure_apt_tool("wrk"), "py-spy": py_spy()}
    if "cli" in config.scenarios:
        tools["hyperfine"] = ensure_apt_tool("hyperfine")
    if "ceiling" in config.scenarios:
        tools["pgbench"] = ensure_apt_tool("pgbench", "postgresql-client")
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    load_before = load_average()
    facts = {
        **machine_facts(tools),
        **(await service_versions(config)),
        "commit": f"{commit}{' (uncommitted changes)' if dirty else ''} on {git('rev-parse', '--abbrev-ref', 'HEAD')}",
        "load average at start": load_before,
    }
    work = Path(tempfile.mkdtemp(prefix="hduce-bench-"))
    bench = Bench(config, tools, work)
    log(f"scenarios: {', '.join(config.scenarios)}; work files in {work}")
    if tools["wrk"] is None:
        bench.results.skipped.append("load scenarios: wrk is not installed (and could not be)")
    if tools["py-spy"] is None:
        bench.results.skipped.append("profiles: py-spy is not installed (uv sync --frozen)")
    started = time.perf_counter()

    async def phase(name: str, call: Callable[[], Awaitable[None]]) -> None:
        try:
            await call()
        except Exception as exc:  # one failing phase must not lose the others
            traceback.print_exc()
            bench.results.skipped.append(
                f"{name}: failed: {type(exc).__name__}: {exc}".splitlines()[0]
            )

    try:
        if bench.wants("cli"):
            await phase("cli", bench.cli_timings)
        if bench.wants("startup"):
            await phase("startup", bench.startup)
        if bench.wants(
            "health", "booking", "list", "me", "sse", "rss", "sql", "workers", "ceiling", "auth"
        ):
            await phase("serve", bench.serve_phase)
        if bench.wants("size"):
            await phase("size", bench.size)
    finally:
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    facts["load average at end"] = load_average()
    facts["bench wall time"] = f"{time.perf_counter() - started:.0f} s"

    date = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"{date}-{commit}" + (f"-{args.label}" if args.label else "")
    title = f"HDUCE bench, {date}, commit {commit}" + (f" ({args.label})" if args.label else "")
    preamble = [
        f"`uv run python bench/run.py {shlex.join(sys.argv[1:])}`"
        f"{' (quick mode: short runs, small data)' if config.quick else ''}; "
        f"scenarios: {', '.join(config.scenarios)}; each load run {config.seconds:g} s after "
        f"a {config.warmup:g} s warm-up.",
        "",
        "wrk, the bench itself and PostgreSQL share the machine's cores with the server "
        "under test; compare ratios to /health, not absolute rates, across machines.",
        *([""] + [f"**Note:** {note}" for note in args.note] if args.note else []),
    ]
    text = report.markdown(bench.results, title=title, facts=facts, preamble=preamble)
    return name, text


def main() -> None:
    args = parse_args()
    name, text = asyncio.run(run(args))
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{name}.md"
    path.write_text(text)
    print("\n" + text)
    log(f"results written to {path}")


if __name__ == "__main__":
    main()
