"""CPU per request in process: ``/health``, ``GET /auth/me`` and a list page, side by side.

What every authenticated endpoint pays (middleware, dishka's request scope,
authentication and the denylist, the unit of work, JSON, the access log) is the
difference between ``me`` and ``health``; ``list`` is a page of 20 of a patient's
appointments (three history lines each). Like ``bench/booking_cpu.py``: a throwaway
PostgreSQL database seeded like ``bench/run.py``'s clinic, the app built as ``hduce
api`` and called straight through its ASGI callable (no server, no client library),
each patient's access state cached first (one untimed call each, ADR 0010), then
``--calls`` requests per endpoint with ``--concurrency`` in flight, alternated
``--repeats`` times in the same process; the process's CPU (``time.process_time``)
per request is printed (the median of the repeats).

Compare trees side by side (each round a fresh child process per tree)::

    uv run python bench/request_cpu.py --against /work/main/src --rounds 3
    uv run python bench/request_cpu.py --profile me   # py-spy of one endpoint's calls

Needs PostgreSQL (``--admin-url``, may create databases) and Redis (``--redis-url``).
Figures are printed, never asserted (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hbench.in_process import add_service_urls, alternate_rounds, configure_app, run_child

HERE = Path(__file__).resolve().parent
OWN_SRC = HERE.parent / "src"
ENDPOINTS = {
    "health": "/health",
    "me": "/api/v1/auth/me",
    "list": "/api/v1/appointments?limit=20",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="measured requests per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="per endpoint, in one process")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="requests in flight (below the database pool's 5: more, and the overflow "
        "connections opened and closed on each burst are measured too)",
    )
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated")
    parser.add_argument(
        "--profile", choices=tuple(ENDPOINTS), help="py-spy one endpoint's measured calls"
    )
    parser.add_argument(
        "--count-calls",
        action="store_true",
        help="also count Python function calls per request (cProfile, a run of its own per "
        "endpoint): a figure the other processes on a shared machine do not move",
    )
    parser.add_argument(
        "--cprofile",
        metavar="FILE",
        help="with --profile: cProfile (process time) the endpoint's calls instead, stats to FILE",
    )
    parser.add_argument("--against", help="another tree's src/ to alternate with this one")
    parser.add_argument("--rounds", type=int, default=3, help="with --against")
    add_service_urls(parser)
    # Internal: a child run on an existing database.
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------- parent


def main() -> None:
    args = parse_args()
    if args.database:
        _child(args)
        return
    sys.path.insert(0, str(HERE))
    from hbench.clinic import ClinicShape, Database, half_hour_after

    async def create() -> Database:
        database = Database(args.admin_url, "requestcpu")
        await database.create()
        await database.seed(
            ClinicShape(
                doctors=20,
                patients=args.patients,
                appointments=args.patients * 25,
                appointment_patients=args.patients,
                appointments_start=half_hour_after(datetime.now(UTC) - timedelta(days=30)),
                history=True,
            )
        )
        return database

    database = asyncio.run(create())
    trees = [("this", str(OWN_SRC))]
    if args.against:
        trees.insert(0, ("other", str(Path(args.against).resolve())))
    rounds = args.rounds if args.against else 1
    secret = secrets.token_hex(32)

    def child_argv(src: str) -> list[str]:
        return [
            sys.executable, __file__, *_passed_on(args), "--src", src,
            "--database", database.name, "--secret", secret,
        ]  # fmt: skip

    try:
        results = alternate_rounds(trees, rounds, child_argv, _line)
    finally:
        asyncio.run(database.drop())
    if len(trees) > 1 or rounds > 1:
        print("\nmedians of the rounds (CPU ms per request):")
        for name, src in trees:
            runs = results[name]
            median = {
                k: statistics.median(run[k] for run in runs)
                for k in runs[0]
                if isinstance(runs[0][k], float)
            }
            print(f"  {name:5} {src}: {_line(median)}")


def _passed_on(args: argparse.Namespace) -> list[str]:
    argv = [
        "--calls", str(args.calls), "--repeats", str(args.repeats),
        "--concurrency", str(args.concurrency), "--patients", str(args.patients),
        "--endpoints", args.endpoints, "--admin-url", args.admin_url,
        "--redis-url", args.redis_url,
    ]  # fmt: skip
    if args.cprofile:
        argv += ["--cprofile", str(Path(args.cprofile).resolve())]
    if args.count_calls:
        argv.append("--count-calls")
    return [*argv, "--profile", args.profile] if args.profile else argv


def _line(figures: dict[str, Any]) -> str:
    shown = [f"{name} {figures[name]:.3f}" for name in ENDPOINTS if name in figures]
    if "health" in figures and "me" in figures:
        shown.append(f"me - health {figures['me'] - figures['health']:.3f}")
    text = "CPU ms/request " + ", ".join(shown)
    calls = [
        f"{name} {figures[name + '_calls']:.0f}" for name in ENDPOINTS if name + "_calls" in figures
    ]
    return text + ("; Python calls/request " + ", ".join(calls) if calls else "")


# ---------------------------------------------------------------------------- child


def _child(args: argparse.Namespace) -> None:
    run_child(args, _measure, "request-cpu")


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    from booking_cpu import _lifespan, _py_spy
    from hbench.clinic import Tokens

    configure_app(args)
    from hduce.entrypoints.asgi import build_app

    app = build_app(mode="api")
    tokens = Tokens(args.secret)
    endpoints = args.endpoints.split(",")

    def scope_of(target: str, patient: int) -> dict[str, Any]:
        path, _, query = target.partition("?")
        headers = [(b"host", b"127.0.0.1:8000")]
        if path.startswith("/api/"):
            headers.append((b"authorization", f"Bearer {tokens.patient(patient)}".encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000 + patient % 20000),
            "server": ("127.0.0.1", 8000),
        }

    statuses: dict[int, int] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    async def run(scopes: list[dict[str, Any]]) -> None:
        queue = iter(scopes)

        async def lane() -> None:
            for scope in queue:
                await app(dict(scope, state={}), receive, send)  # type: ignore[arg-type]

        await asyncio.gather(*(lane() for _ in range(args.concurrency)))

    def scopes(endpoint: str, count: int) -> list[dict[str, Any]]:
        return [scope_of(ENDPOINTS[endpoint], n % args.patients) for n in range(count)]

    figures: dict[str, Any] = {}
    cpu: dict[str, list[float]] = {name: [] for name in endpoints}
    async with _lifespan(app):
        # Every patient's access state cached, every code path warm.
        for endpoint in endpoints:
            await run(scopes(endpoint, args.patients))
        await asyncio.sleep(0.5)
        for _ in range(args.repeats):
            for endpoint in endpoints:
                if args.profile and endpoint != args.profile:
                    continue
                requests = scopes(endpoint, args.calls)
                statuses.clear()
                recorder = _py_spy() if args.profile and not args.cprofile else None
                profiler = cProfile.Profile(time.process_time) if args.cprofile else None
                started = time.process_time()
                if profiler is not None:
                    profiler.enable()
                await run(requests)
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(args.cprofile)
                cpu[endpoint].append((time.process_time() - started) * 1000 / args.calls)
                if recorder is not None:
                    figures["profile"] = _summary(recorder)
                if statuses != {200: args.calls}:
                    raise RuntimeError(f"{endpoint}: expected {args.calls} 200s, got {statuses}")
            if args.profile:
                break
        if args.count_calls:
            for endpoint in endpoints:
                requests = scopes(endpoint, args.calls)
                counter = cProfile.Profile()
                counter.enable()
                await run(requests)
                counter.disable()
                total = pstats.Stats(counter).total_calls  # type: ignore[attr-defined]
                figures[endpoint + "_calls"] = float(total) / args.calls
    figures.update({name: statistics.median(values) for name, values in cpu.items() if values})
    return figures


#: Self time by layer: a sample belongs to the innermost frame from a package or from
#: HDUCE (stdlib frames count for their caller), its layer the first pattern that matches
#: that frame's file. py-spy's stacks are cut at greenlets and at resumed coroutines, so
#: inclusive ("cumulative") shares by middleware would be wrong; these add up to 100 %.
LAYERS = (
    ("SQL: SQLAlchemy, asyncpg, unit of work, repositories", r"sqlalchemy/|asyncpg/|greenlet/|advanced_alchemy/|hduce/adapters/sql/"),
    ("Redis: redis-py, the denylist, the shared access cache", r"redis/|hduce/adapters/redis/"),
    ("token verification: joserfc, tokens.py", r"joserfc/|hduce/adapters/security/"),
    ("Prometheus middleware and client", r"prometheus|litestar/plugins/prometheus/"),
    ("Litestar: routing, guards (and their copy of the handler), responses", r"litestar/|msgspec/"),
    ("dishka: request container, injection", r"dishka/"),
    ("access log and log context: structlog, logging", r"structlog/|hduce/bootstrap/logging"),
    ("HDUCE HTTP layer: request context, security headers, guards, handlers", r"hduce/entrypoints/"),
    ("HDUCE application and domain (authentication, use cases)", r"hduce/"),
    ("event loop and bench driver", r"."),
)  # fmt: skip


def _summary(recorder: Any) -> str:
    """booking_cpu's summary (packages, top frames), then the layers (the raw samples
    are kept where ``BOOKING_CPU_KEEP_RAW`` says)."""
    from booking_cpu import _recorded_samples, _summary_of

    raw = _recorded_samples(recorder)
    if raw is None:
        return "py-spy wrote nothing"
    return _summary_of(raw, recorder) + "\n" + _by_layer(raw)


def _by_layer(raw: str) -> str:
    import re

    frame = re.compile(r"^.* \((?P<file>[^()]*)\)$")
    counts = dict.fromkeys((name for name, _ in LAYERS), 0)
    patterns = [(name, re.compile(pattern)) for name, pattern in LAYERS]
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        owner = ""
        for entry in reversed(stack.split(";")):
            match = frame.match(entry)
            if match and ("site-packages/" in match["file"] or "/src/hduce/" in match["file"]):
                file = match["file"]
                owner = file.split("site-packages/")[-1].split("/src/", 1)[-1]
                break
        name = next(name for name, pattern in patterns if pattern.search(owner or "-"))
        counts[name] += samples
    lines = ["  self time by layer:"]
    lines += [f"    {count * 100 / max(total, 1):5.1f} %  {name}" for name, count in counts.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
