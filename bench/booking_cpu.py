"""CPU per booking in process: ``POST /api/v1/appointments`` through the real app.

Creates a throwaway PostgreSQL database (migrated, seeded like ``bench/run.py``'s clinic:
doctors working around the clock, patients), builds the app as ``hduce api`` (``--mode
api``: the API path alone) or ``hduce serve`` (``--mode all``: with the in-process worker:
relay, notifications, e-mails) and sends it bookings of distinct free slots straight
through its ASGI callable (no HTTP server, no client library: what is counted is the
app's own work). Each patient's access state is cached first (one untimed booking
each), as for callers seen in the last minutes (ADR 0010). Prints the process's CPU
(``time.process_time``) per booking over the measured bookings; with ``--mode all`` also
the CPU until the outbox is relayed and the e-mails are sent (the worker's share).

Compare trees side by side: ``--against /path/to/other/src`` runs rounds alternating
this tree and the other one (each round a fresh child process on the same database,
taking slots nobody took yet), then prints the medians::

    uv run python bench/booking_cpu.py --against /tmp/main/src --rounds 3
    uv run python bench/booking_cpu.py --profile   # py-spy, top frames by self time

Needs PostgreSQL (``--admin-url``, may create databases) and Redis (``--redis-url``).
Figures are printed, never asserted (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hbench.in_process import add_service_urls, alternate_rounds, configure_app, run_child

HERE = Path(__file__).resolve().parent
OWN_SRC = HERE.parent / "src"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=400, help="measured bookings per run")
    parser.add_argument("--concurrency", type=int, default=8, help="bookings in flight")
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--doctors", type=int, default=200)
    parser.add_argument("--mode", choices=("api", "all"), default="api")
    parser.add_argument("--profile", action="store_true", help="py-spy the measured bookings")
    parser.add_argument(
        "--calls",
        action="store_true",
        help="also count Python function calls per booking (cProfile, a run of its own): "
        "a figure the other processes on a shared machine do not move",
    )
    parser.add_argument("--against", help="another tree's src/ to alternate with this one")
    parser.add_argument("--rounds", type=int, default=3, help="with --against")
    add_service_urls(parser)
    # Internal: a child run on an existing database.
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--first-slot", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------- parent


def main() -> None:
    args = parse_args()
    if args.database:
        _child(args)
        return
    sys.path.insert(0, str(HERE))
    from hbench.clinic import ClinicShape, Database

    async def create() -> Database:
        database = Database(args.admin_url, "cpu")
        await database.create()
        await database.seed(ClinicShape(doctors=args.doctors, patients=args.patients))
        return database

    database = asyncio.run(create())
    trees = [("this", str(OWN_SRC))]
    if args.against:
        trees.insert(0, ("other", str(Path(args.against).resolve())))
    rounds = args.rounds if args.against else 1
    secret = secrets.token_hex(32)
    # The cache warm-up's bookings, the measured ones, and those whose calls are counted.
    per_run = args.patients + args.bookings * (2 if args.calls else 1)
    runs_started = 0

    def child_argv(src: str) -> list[str]:
        # Each run takes slots nobody took yet.
        nonlocal runs_started
        first_slot = runs_started * per_run
        runs_started += 1
        return [
            sys.executable, __file__, *_passed_on(args), "--src", src,
            "--database", database.name, "--first-slot", str(first_slot),
            "--secret", secret, "--json",
        ]  # fmt: skip

    try:
        results = alternate_rounds(trees, rounds, child_argv, _line)
    finally:
        asyncio.run(database.drop())
    if len(trees) > 1 or rounds > 1:
        print("\nmedians:")
        for name, src in trees:
            runs = results[name]
            keys = [k for k in runs[0] if isinstance(runs[0][k], float)]
            median = {k: statistics.median(run[k] for run in runs) for k in keys}
            print(f"  {name:5} {src}: {_line(median)}")
        print("minimum CPU (the least disturbed run):")
        for name, src in trees:
            least = min(run["cpu_ms_per_booking"] for run in results[name])
            print(f"  {name:5} {src}: API CPU {least:.3f} ms/booking")


def _passed_on(args: argparse.Namespace) -> list[str]:
    argv = [
        "--bookings",
        str(args.bookings),
        "--concurrency",
        str(args.concurrency),
        "--patients",
        str(args.patients),
        "--doctors",
        str(args.doctors),
        "--mode",
        args.mode,
        "--admin-url",
        args.admin_url,
        "--redis-url",
        args.redis_url,
    ]
    if args.calls:
        argv.append("--calls")
    return [*argv, "--profile"] if args.profile else argv


def _line(figures: dict[str, Any]) -> str:
    text = (
        f"API CPU {figures['cpu_ms_per_booking']:.3f} ms/booking, "
        f"wall {figures['wall_ms_per_booking']:.3f} ms/booking"
    )
    if "calls_per_booking" in figures:
        text += f", {figures['calls_per_booking']:.0f} Python calls/booking"
    if "worker_calls_per_booking" in figures:
        text += f" (+ {figures['worker_calls_per_booking']:.0f} in the worker after them)"
    if "worker_cpu_ms_per_booking" in figures:
        text += f", worker CPU after the bookings {figures['worker_cpu_ms_per_booking']:.3f} ms"
        text += f", total {figures['total_cpu_ms_per_booking']:.3f} ms"
    return text


# ---------------------------------------------------------------------------- child


def _child(args: argparse.Namespace) -> None:
    run_child(args, _measure, "booking-cpu")


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    from hbench.clinic import BOOKING_PATH, SlotAllocator, Tokens
    from hbench.clinic import Database as _Database

    configure_app(args)
    from hduce.entrypoints.asgi import build_app

    app = build_app(mode=args.mode)
    tokens = Tokens(args.secret)
    from datetime import UTC, datetime, timedelta

    from hbench.clinic import booking_body, half_hour_after

    base = half_hour_after(datetime.now(UTC) + timedelta(hours=2))
    allocator = SlotAllocator(args.doctors, args.patients, base, next_index=args.first_slot)
    warmup = allocator.take(args.patients)
    measured = allocator.take(args.bookings)

    def request(patient: int, doctor: Any, start: datetime) -> tuple[dict[str, Any], bytes]:
        body = booking_body(doctor, start).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": BOOKING_PATH,
            "raw_path": BOOKING_PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1:8000"),
                (b"content-type", b"application/json"),
                (b"authorization", f"Bearer {tokens.patient(patient)}".encode()),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 40000 + patient % 20000),
            "server": ("127.0.0.1", 8000),
        }
        return scope, body

    warmup_requests = [request(*booking) for booking in warmup]
    measured_requests = [request(*booking) for booking in measured]
    statuses: dict[int, int] = {}

    async def one(scope: dict[str, Any], body: bytes) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(dict(scope, state={}), receive, send)  # type: ignore[arg-type]

    async def run(requests: list[tuple[dict[str, Any], bytes]]) -> None:
        queue = iter(requests)

        async def lane() -> None:
            for scope, body in queue:
                await one(scope, body)

        await asyncio.gather(*(lane() for _ in range(args.concurrency)))

    database = _Database(args.admin_url, "unused")
    database.name = args.database
    database.dsn = os.environ["HDUCE_DATABASE_URL"]  # set by configure_app
    async with _lifespan(app):
        await run(warmup_requests)
        if args.mode == "all":
            await database.wait_outbox_drained(120)
            await database.wait_deliveries_done(120)
        await asyncio.sleep(0.5)
        statuses.clear()
        recorder = _py_spy() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        await run(measured_requests)
        cpu_api, wall_api = time.process_time() - cpu, time.perf_counter() - wall
        figures: dict[str, Any] = {
            "cpu_ms_per_booking": cpu_api * 1000 / args.bookings,
            "wall_ms_per_booking": wall_api * 1000 / args.bookings,
        }
        if args.mode == "all":
            await database.wait_outbox_drained(120)
            await database.wait_deliveries_done(120)
            total = time.process_time() - cpu
            figures["worker_cpu_ms_per_booking"] = (total - cpu_api) * 1000 / args.bookings
            figures["total_cpu_ms_per_booking"] = total * 1000 / args.bookings
        if recorder is not None:
            figures["profile"] = _profile_text(recorder)
        if args.calls:
            import cProfile
            import pstats

            if args.mode == "all":
                await asyncio.sleep(0.5)
            calls = allocator.take(args.bookings)
            counted = [request(*booking) for booking in calls]
            statuses.clear()
            profiler = cProfile.Profile()
            profiler.enable()
            await run(counted)
            profiler.disable()
            total = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
            figures["calls_per_booking"] = float(total) / args.bookings
            if args.mode == "all":
                # The worker's calls after the bookings, until the outbox is relayed and
                # the e-mails sent (with the waits' own polls, a few hundred calls).
                profiler.enable()
                await database.wait_outbox_drained(120)
                await database.wait_deliveries_done(120)
                profiler.disable()
                after = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
                figures["worker_calls_per_booking"] = float(after - total) / args.bookings
    if statuses != {201: args.bookings}:
        raise RuntimeError(f"expected {args.bookings} answers 201, got {statuses}")
    return figures


class _lifespan:
    """The ASGI lifespan protocol around the app (startup, then shutdown on exit)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.create_task(self._app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {answer}")

    async def __aexit__(self, *_: object) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._outbox.get()
        await self._task


def _py_spy() -> subprocess.Popen[str] | None:
    """``py-spy record`` of this process, only samples holding the GIL (``--gil``: the
    event loop waiting in ``epoll`` or a socket call is not CPU of the booking)."""
    from hbench.system import py_spy

    tool = py_spy()
    if tool is None:
        return None
    output = Path(tempfile.gettempdir()) / f"booking-cpu-{os.getpid()}.raw"
    argv = [
        tool, "record", "--gil", "--nonblocking", "--nolineno", "--full-filenames",
        "--rate", "250", "--pid", str(os.getpid()), "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    recorder = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    recorder.output = output  # type: ignore[attr-defined]
    time.sleep(1)  # py-spy attaches
    return recorder


def _recorded_samples(recorder: Any) -> str | None:
    """Stop ``py-spy record`` and return its raw samples (a copy goes where
    ``BOOKING_CPU_KEEP_RAW`` says), or None when it wrote nothing."""
    recorder.send_signal(2)  # SIGINT: py-spy writes what it has
    recorder.communicate(timeout=60)
    output: Path = recorder.output
    if not output.exists():
        return None
    raw = output.read_text()
    keep = os.environ.get("BOOKING_CPU_KEEP_RAW")
    if keep:
        Path(keep).write_text(raw)
    output.unlink(missing_ok=True)
    return raw


def _summary_of(raw: str, recorder: Any) -> str:
    """Samples by package and the top frames by self time."""
    from hbench.profiling import summarise

    profile = summarise("booking", raw, " ".join(recorder.args), top=25)
    total = max(profile.samples, 1)
    lines = [f"py-spy --gil: {profile.samples} samples; by package:"]
    lines += [f"    {count * 100 / total:5.1f} %  {name}" for name, count in profile.by_package]
    lines.append("  top frames by self time:")
    lines += [f"    {count * 100 / total:5.1f} %  {name}" for name, count in profile.top_self]
    return "\n".join(lines)


def _profile_text(recorder: Any) -> str:
    raw = _recorded_samples(recorder)
    return "py-spy wrote nothing" if raw is None else _summary_of(raw, recorder)


if __name__ == "__main__":
    main()
