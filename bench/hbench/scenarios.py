"""The scenarios of issue 10, run against real PostgreSQL and Redis on loopback.

``Bench`` holds the run's settings and collects every figure in ``Results``. Each
phase starts the processes it needs and stops them; the figures are printed and
written, never asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import secrets
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from hbench import clinic
from hbench.ceiling import AuthFigures, Ceiling, PgbenchResult, authentication
from hbench.clinic import ClinicShape, Database, SlotAllocator, Tokens
from hbench.load import LoadResult, run_wrk
from hbench.pgwire import CountingProxy, WireCounts
from hbench.profiling import Profile, Recorder
from hbench.system import (
    ROOT,
    CpuMeter,
    MachineMeter,
    Process,
    free_port,
    hduce_bin,
    log,
    postgres_backends,
    server_env,
    wait_http_ok,
)
from hduce.bootstrap.settings import Settings

ALL_SCENARIOS = (
    "health",
    "booking",
    "list",
    "me",
    "sse",
    "rss",
    "sql",
    "workers",
    "size",
    "cli",
    "startup",
    "ceiling",
    "auth",
)
#: Scenarios that load a running `hduce serve` (and so need /health as the yardstick).
SERVE_LOADS = ("booking", "list", "me")
LIST_PATH = "/api/v1/appointments?limit=20"
ME_PATH = "/api/v1/auth/me"
#: Approved visits 200 days ahead in every seeded clinic (``ClinicShape.upcoming``).
UPCOMING_VISITS = 2_000
#: Booking attempts the warm-up file allows per second; the measured run's file is
#: sized from the warm-up's rate (twice what it would need).
WARMUP_BOOKING_CEILING = 3000
#: How long the SQL count watches idle processes (polls and sweeps) to subtract them:
#: two periods of the 5-second sweeps.
IDLE_SECONDS = 10


@dataclass(frozen=True)
class Config:
    admin_url: str
    redis_url: str
    scenarios: tuple[str, ...]
    quick: bool
    seconds: float
    warmup: float
    profile_seconds: int
    profile: bool
    health_connections: tuple[int, ...]
    booking_connections: tuple[int, ...]
    read_connections: tuple[int, ...]
    size_connections: int
    workers_connections: int
    sse_samples: int
    sql_samples: int
    size_appointments: int
    cli_runs: int
    startup_runs: int
    doctors: int = 200
    patients: int = 20_000
    list_patients: int = 2_000
    #: Signed-in users behind GET /auth/me: a working set that repeats within a run,
    #: as active sessions do (each account's access state is cached after its first
    #: request; 20,000 distinct users would make every request a first one).
    me_patients: int = 500
    list_appointments_each: int = 25
    log_level: str = "INFO"


@dataclass
class CatchUp:
    """CPU seconds per process group after a booking run, until its outbox was drained
    and its e-mails delivered (``delivered``: seconds, None if not within the limit)."""

    cpu: dict[str, float]
    #: The run it follows.
    run: LoadResult
    delivered: float | None

    def ms_per_booking(self, group: str) -> float | None:
        if group not in self.cpu or not self.run.ok:
            return None
        return self.cpu[group] * 1000 / self.run.ok


@dataclass
class Results:
    started: datetime
    loads: list[LoadResult] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    rss: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    sse: dict[str, Any] = field(default_factory=dict)
    cli: dict[str, dict[str, float | str]] = field(default_factory=dict)
    startup: dict[str, Any] = field(default_factory=dict)
    sql: dict[str, dict[str, Any]] = field(default_factory=dict)
    size: dict[str, LoadResult] = field(default_factory=dict)
    size_notes: str = ""
    #: label -> (events emitted by the start-up sweeps, seconds until relayed and idle).
    size_startup: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    workers: dict[str, Any] = field(default_factory=dict)
    #: pgbench runs of the application's booking transaction and list statement.
    pgbench: list[PgbenchResult] = field(default_factory=list)
    #: The statements' texts as the application sent them, and the pgbench scripts.
    pgbench_statements: dict[str, list[str]] = field(default_factory=dict)
    pgbench_scripts: dict[str, str] = field(default_factory=dict)
    auth: AuthFigures | None = None
    drains: dict[str, float | None] = field(default_factory=dict)
    #: "booking run cN" -> the CPU spent after the run until its events were relayed
    #: and its e-mails delivered.
    catch_ups: dict[str, CatchUp] = field(default_factory=dict)
    settled: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def load(self, name: str, connections: int) -> LoadResult | None:
        return next(
            (r for r in self.loads if r.name == name and r.connections == connections), None
        )


def _redact(env: dict[str, str]) -> dict[str, str]:
    return {k: ("<random>" if k == "HDUCE_JWT_SECRET" else v) for k, v in env.items()}


class Bench:
    def __init__(self, config: Config, tools: dict[str, str | None], work: Path) -> None:
        self.config = config
        self.wrk = tools.get("wrk")
        self.py_spy = tools.get("py-spy")
        self.hyperfine = tools.get("hyperfine")
        self.pgbench = tools.get("pgbench")
        self.work = work
        self.secret = secrets.token_hex(32)
        self.tokens = Tokens(self.secret)
        self.results = Results(started=datetime.now(UTC))
        self._logged_commands: set[str] = set()

    # ------------------------------------------------------------------ helpers

    def wants(self, *names: str) -> bool:
        return any(name in self.config.scenarios for name in names)

    def command(self, title: str, command: str) -> None:
        if command not in self._logged_commands:
            self._logged_commands.add(command)
            self.results.commands.append((title, command))

    def hduce_env(self, database_url: str, port: int, **extra: str) -> dict[str, str]:
        env = {
            "HDUCE_ENV": "production",
            "HDUCE_JWT_SECRET": self.secret,
            "HDUCE_JWT_ISSUER": clinic.JWT_ISSUER,
            "HDUCE_JWT_AUDIENCE": clinic.JWT_AUDIENCE,
            "HDUCE_DATABASE_URL": database_url,
            "HDUCE_REDIS_URL": self.config.redis_url,
            "HDUCE_HTTP_HOST": "127.0.0.1",
            "HDUCE_HTTP_PORT": str(port),
            "HDUCE_LOG_FORMAT": "json",
            "HDUCE_LOG_LEVEL": self.config.log_level,
            **extra,
        }
        return env

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        argv = [hduce_bin(), *args]
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in _redact(env).items())
        self.command(f"start {name}", f"{shown} {shlex.join(['hduce', *args])}")
        return Process(name, argv, server_env(env), self.work)

    def ready(self, process: Process, port: int, timeout: float = 90) -> float:
        """Seconds until ``/health`` answers; then waits for ``/health/ready`` too, as an
        orchestrator's readiness probe would (its first check loads what it needs: the
        resident memory at rest is read after it), asked a few times so that each of
        ``--workers 2`` likely answers one."""
        try:
            started = wait_http_ok(f"http://127.0.0.1:{port}/health", timeout, process.popen)
            for _ in range(4):
                wait_http_ok(f"http://127.0.0.1:{port}/health/ready", timeout, process.popen)
            return started
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{process.name} did not start: {exc}\n{process.tail()}") from exc

    def booking_file(self, allocator: SlotAllocator, count: int) -> Path:
        path = self.work / f"bookings-{allocator.next_index}.tsv"
        return clinic.write_booking_file(path, allocator, self.tokens, count)

    async def load(
        self,
        *,
        name: str,
        port: int,
        request_file: Path | Callable[[float], Path],
        connections: int,
        cpu_groups: dict[str, Callable[[], Iterable[int]]],
        expect: str = "200",
        warmup_file: Path | None = None,
        before_measure: Callable[[], Awaitable[object]] | None = None,
    ) -> LoadResult:
        """Warm up, wait for the processes to go idle, then one measured wrk run with the
        CPU of ``cpu_groups`` metered (requests left in flight by the warm-up would
        otherwise be paid for in the measured window)."""
        assert self.wrk is not None
        url = f"http://127.0.0.1:{port}"
        warm_rate = 0.0
        if self.config.warmup > 0:
            warm = await asyncio.to_thread(
                run_wrk,
                self.wrk,
                name=f"{name} warm-up",
                url=url,
                request_file=warmup_file or _static(request_file),
                connections=connections,
                seconds=self.config.warmup,
                expect=expect,
            )
            warm_rate = warm.requests / warm.seconds if warm.seconds else 0.0
            if before_measure is not None:
                await before_measure()
            await quiesce(cpu_groups)
        file = request_file(warm_rate) if callable(request_file) else request_file
        meter = CpuMeter(cpu_groups)
        machine = MachineMeter()
        meter.start()
        machine.start()
        result = await asyncio.to_thread(
            run_wrk,
            self.wrk,
            name=name,
            url=url,
            request_file=file,
            connections=connections,
            seconds=self.config.seconds,
            expect=expect,
        )
        result.machine_busy = machine.stop()
        result.cores = machine.cores
        result.cpu = meter.stop()
        self.command(f"wrk: {name} c{connections}", result.command)
        self.results.loads.append(result)
        others = result.others()
        log(
            f"{name:<22} c{connections:<3} {result.rate:8.1f}/s  p50 {result.latency_ms['50']:7.1f} ms"
            f"  p99 {result.latency_ms['99']:7.1f} ms  {result.ok_share:6.1%} {expect}"
            + (f"  ({others})" if others else "")
            + f"  machine busy {result.machine_busy:.0%}"
        )
        return result

    async def profile(
        self, name: str, target: Process, port: int, request_file: Path, connections: int
    ) -> None:
        if not (self.config.profile and self.py_spy and self.wrk):
            return
        seconds = self.config.profile_seconds
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        output = self.work / f"profile-{slug}.txt"
        recorder = Recorder(self.py_spy, target.pid, seconds, output)
        await asyncio.to_thread(
            run_wrk,
            self.wrk,
            name=f"{name} (profiled)",
            url=f"http://127.0.0.1:{port}",
            request_file=request_file,
            connections=connections,
            seconds=seconds + 1,
        )
        profile = await asyncio.to_thread(recorder.finish, f"{name} c{connections}")
        self.results.profiles.append(profile)
        self.command(f"py-spy: {name}", profile.command)
        if profile.error:
            log(f"py-spy failed for {name}: {profile.error}")

    # ------------------------------------------------------------------ CLI and start-up

    async def cli_timings(self) -> None:
        env = server_env({})
        runs = self.config.cli_runs
        for label, args in (("hduce --help", ["--help"]), ("hduce settings", ["settings"])):
            argv = [hduce_bin(), *args]
            if self.hyperfine:
                out = self.work / "hyperfine.json"
                command = [
                    self.hyperfine,
                    "--warmup",
                    "1",
                    "--runs",
                    str(runs),
                    "--export-json",
                    str(out),
                    "--output=null",
                    shlex.join(argv),
                ]
                await asyncio.to_thread(
                    subprocess.run, command, env=env, capture_output=True, check=True
                )
                data = json.loads(out.read_text())["results"][0]
                times = [t * 1000 for t in data["times"]]
                self.command(f"hyperfine: {label}", shlex.join(command))
            else:
                times = []
                for n in range(runs + 1):
                    started = time.perf_counter()
                    await asyncio.to_thread(
                        subprocess.run, argv, env=env, capture_output=True, check=True
                    )
                    if n:  # the first run warms the caches
                        times.append((time.perf_counter() - started) * 1000)
                self.command(f"loop: {label}", f"{runs} runs of {shlex.join(argv)}")
            self.results.cli[label] = {
                "mean_ms": statistics.fmean(times),
                "median_ms": statistics.median(times),
                "min_ms": min(times),
                "max_ms": max(times),
                "runs": len(times),
                "tool": "hyperfine" if self.hyperfine else "perf_counter loop",
            }
            log(f"{label:<22} median {statistics.median(times):7.0f} ms ({len(times)} runs)")

    async def startup(self) -> None:
        """`make run` (uv sync, serve: it migrates) on a fresh SQLite file until /health is 200."""
        runs = self.config.startup_runs
        timings: list[float] = []
        for n in range(runs + 1):
            folder = Path(tempfile.mkdtemp(prefix="hduce-bench-run-", dir=self.work))
            port = free_port()
            env = server_env(
                {
                    "HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/hduce.sqlite3",
                    "HDUCE_HTTP_PORT": str(port),
                }
            )
            argv = ["make", "--no-print-directory", "-C", str(ROOT), "run"]
            self.command(
                "make run (start-up)",
                f"HDUCE_DATABASE_URL=sqlite+aiosqlite:///<fresh>/hduce.sqlite3 "
                f"HDUCE_HTTP_PORT=<free> {shlex.join(argv)}",
            )
            started = time.perf_counter()
            process = Process(f"make-run-{n}", argv, env, self.work)
            try:
                wait_http_ok(f"http://127.0.0.1:{port}/health", 180, process.popen)
                elapsed = time.perf_counter() - started
            finally:
                process.stop()
                shutil.rmtree(folder, ignore_errors=True)
            if n:  # run 0 warms the caches (and pays for any first compile)
                timings.append(elapsed)
            log(f"make run -> /health  {elapsed:6.2f} s" + ("" if n else " (warm-up, not counted)"))
        self.results.startup = {
            "runs_s": timings,
            "median_s": statistics.median(timings),
        }

    # ------------------------------------------------------------------ hduce serve

    async def serve_phase(self) -> None:
        config = self.config
        db = Database(config.admin_url, "main")
        try:
            await db.create()
            await db.seed(
                ClinicShape(
                    doctors=config.doctors,
                    patients=config.patients,
                    appointments=config.list_patients * config.list_appointments_each,
                    appointment_patients=config.list_patients,
                    appointments_start=clinic.half_hour_after(
                        datetime.now(UTC) - timedelta(days=30)
                    ),
                    history=True,
                    upcoming=UPCOMING_VISITS,
                )
            )
            allocator = SlotAllocator(
                config.doctors,
                config.patients,
                clinic.half_hour_after(datetime.now(UTC) + timedelta(hours=2)),
            )
            if self.wants(*SERVE_LOADS, "sse", "rss", "ceiling"):
                await self._serve_loads(db, allocator)
            if self.wants("ceiling"):
                await self.ceilings(db)
            if self.wants("auth"):
                await self.authentication(db)
            if self.wants("sql"):
                await db.clear_delivery_backlog()
                await self.sql_counts(db, allocator)
            if self.wants("workers"):
                await db.clear_delivery_backlog()
                await self.workers(db, allocator)
        finally:
            await db.drop()

    async def _serve_loads(self, db: Database, allocator: SlotAllocator) -> None:
        """One `hduce serve`: the read-only loads and SSE on a quiet server first, then
        the bookings (which leave notifications behind for the background services)."""
        config = self.config
        port = free_port()
        server = self.start("serve", ["serve"], self.hduce_env(db.server_url(), port))
        try:
            started = self.ready(server, port)
            log(f"hduce serve answers /health after {started:.1f} s (pid {server.pid})")
            await asyncio.sleep(2)
            self.results.rss["serve at rest"] = server.rss()
            cpu = {"server": server.tree, "postgres": lambda: postgres_backends(db.name)}
            health = clinic.write_get_file(self.work / "health.tsv", "/health", self.tokens, None)
            list_file = clinic.write_get_file(
                self.work / "list.tsv", LIST_PATH, self.tokens, range(config.list_patients)
            )
            me_file = clinic.write_get_file(
                self.work / "me.tsv", ME_PATH, self.tokens, range(config.me_patients)
            )
            # The ceiling's pgbench runs are read beside /health at the same concurrency.
            loads = self.wants(*SERVE_LOADS, "ceiling") and self.wrk is not None
            reads = [
                (name, file)
                for scenario, name, file in (
                    ("list", "list my appointments", list_file),
                    ("me", "GET /auth/me", me_file),
                )
                if loads and self.wants(scenario)
            ]
            if loads:
                health_conns = sorted(
                    set(config.health_connections)
                    | (
                        set(config.booking_connections)
                        if self.wants("booking", "ceiling")
                        else set()
                    )
                    | (set(config.read_connections) if reads else set())
                )
                for c in health_conns:
                    await self.load(
                        name="/health",
                        port=port,
                        request_file=health,
                        connections=c,
                        cpu_groups=cpu,
                    )
            for name, file in reads:
                for c in config.read_connections:
                    await self.load(
                        name=name, port=port, request_file=file, connections=c, cpu_groups=cpu
                    )
            if self.wants("sse"):
                await self.sse(db, allocator, port)
                await self.settle(db, "SSE bookings")
            if loads:
                top = max(config.health_connections + config.read_connections)
                await self.profile("/health", server, port, health, top)
                for name, file in reads:
                    await self.profile(name, server, port, file, top)
            if loads and self.wants("booking"):
                for c in config.booking_connections:
                    await self._booking(db, allocator, port, c, cpu, "booking")
                    await self.settle(db, f"booking c{c}")
                c = max(config.booking_connections)
                count = WARMUP_BOOKING_CEILING * (config.profile_seconds + 1)
                await self.profile("booking", server, port, self.booking_file(allocator, count), c)
            if loads or self.wants("sse"):
                self.results.rss["serve after load"] = server.rss()
        finally:
            server.stop()

    async def settle(self, db: Database, label: str) -> None:
        """Wait (bounded) until the e-mails of the bookings are delivered: the delivery
        sweep (up to 20 batches of 100 every 5 s) would otherwise run during the next scenario."""
        limit = 30 if self.config.quick else 120
        outbox = await db.wait_outbox_drained(limit)
        done = await db.wait_deliveries_done(limit)
        left = 0 if done is not None else await db.count(clinic.DELIVERIES_LEFT_SQL)
        self.results.settled[label] = {"deliveries_s": done, "deliveries_left": left}
        if outbox is None or done is None:
            log(f"after {label}: {left} e-mails still waiting after {limit} s; going on")

    async def _booking(
        self,
        db: Database,
        allocator: SlotAllocator,
        port: int,
        connections: int,
        cpu: dict[str, Callable[[], Iterable[int]]],
        name: str,
    ) -> LoadResult:
        warm = self.booking_file(allocator, int(WARMUP_BOOKING_CEILING * self.config.warmup) + 100)

        def measured(warm_rate: float) -> Path:
            return self.booking_file(
                allocator, max(2000, int(2 * warm_rate * self.config.seconds) + 500)
            )

        result = await self.load(
            name=name,
            port=port,
            request_file=measured,
            warmup_file=warm,
            connections=connections,
            cpu_groups=cpu,
            expect="201",
        )
        # The in-process worker of `hduce serve` falls behind the bookings under load and
        # relays, notifies and sends the e-mails after the run: that CPU is the
        # bookings' too (a sustained load would pay it during the run).
        meter = CpuMeter(cpu)
        meter.start()
        drained = await db.wait_outbox_drained(180)
        delivered = await db.wait_deliveries_done(180) if drained is not None else None
        self.results.drains[f"{name} c{connections}"] = drained
        self.results.catch_ups[f"{name} c{connections}"] = CatchUp(
            cpu=meter.stop(), run=result, delivered=delivered
        )
        log(
            f"outbox drained {drained:.1f} s after the run"
            if drained is not None
            else "outbox still busy 180 s after the run"
        )
        return result

    # ------------------------------------------------------------------ ceilings

    async def ceilings(self, db: Database) -> None:
        """pgbench replays the booking transaction and the list page statement the
        application sends (captured from it in this process), on the same database
        after the HTTP loads, with the server stopped."""
        if self.pgbench is None:
            self.results.skipped.append("ceiling: pgbench is not installed (and could not be)")
            return
        await db.clear_delivery_backlog()
        config = self.config
        runner = Ceiling(
            pgbench=self.pgbench,
            db=db,
            settings=Settings.from_env(self.hduce_env(db.server_url(), free_port())),
            tokens=self.tokens,
            work=self.work,
            doctors=config.doctors,
            patients=config.patients,
            list_patients=config.list_patients,
            seconds=config.seconds,
            warmup=config.warmup,
            quiesce=quiesce,
        )
        database = runner.settings.database
        pool = database.pool_size + database.max_overflow
        top = max(config.booking_connections)
        await runner.prepare()
        self.results.pgbench_statements = runner.statements
        self.results.pgbench_scripts = {
            name: path.read_text() for name, path in runner.scripts.items()
        }
        try:
            for name, label in (
                ("booking", "booking transaction"),
                ("booking-with-notify", "booking transaction with a NOTIFY before its COMMIT"),
                ("list", "list page statement"),
            ):
                if name not in runner.scripts:
                    continue
                for c in config.booking_connections:
                    result = await runner.run(name, label, c)
                    self.results.pgbench.append(result)
                    self.command(f"pgbench: {label} c{c}", result.command)
                # The app never has more connections than its pool allows, whatever the
                # HTTP concurrency: PostgreSQL with that many, read beside /health c64.
                result = await runner.run(name, label, pool, versus=top)
                self.results.pgbench.append(result)
                self.command(f"pgbench: {label} c{pool}", result.command)
        finally:
            await runner.leave_clean()

    async def authentication(self, db: Database) -> None:
        """``Authenticate`` in this process, wired by the app's container (Redis
        denylist, layered access cache), CPU per call with the cache warm."""
        calls = 1000 if self.config.quick else 5000
        users = self.config.me_patients
        settings = Settings.from_env(self.hduce_env(db.server_url(), free_port()))
        figures = await authentication(settings, self.tokens, users, calls)
        self.results.auth = figures
        self.command(
            "authentication (in process)",
            f"Authenticate from the app's container (HDUCE_REDIS_URL set), {users} patients' "
            f"tokens each authenticated once (cache fill), then {calls} calls in turn; each "
            "call timed with time.process_time, then its token verification, denylist "
            "check and cache read timed alone on the same token; SQL counted by "
            "SQLAlchemy before_cursor_execute and pool checkout events",
        )
        log(
            f"authenticate (warm)    CPU p50 {figures.authenticate['p50']:.3f} ms  mean "
            f"{figures.authenticate['mean']:.3f} ms  ({figures.statements} statements, "
            f"{figures.checkouts} connection checkouts in {calls} calls)"
        )

    # ------------------------------------------------------------------ SSE

    async def sse(self, db: Database, allocator: SlotAllocator, port: int) -> None:
        """Book for one patient, one visit at a time, and time each visit's SSE event."""
        samples = self.config.sse_samples
        patient = self.config.patients - 1
        base = clinic.half_hour_after(datetime.now(UTC) + timedelta(days=80))
        if allocator.reach >= base:
            self.results.skipped.append("sse: the load scenarios used the slots it needs")
            return
        token = self.tokens.patient(patient)
        headers = {"Authorization": f"Bearer {token}"}
        url = f"http://127.0.0.1:{port}"
        arrivals: dict[str, float] = {}
        arrived = asyncio.Event()
        ready = asyncio.Event()
        rng = random.Random(10)

        async def listen(client: httpx.AsyncClient) -> None:
            event = ""
            async with client.stream(
                "GET", f"{url}/api/v1/notifications/stream", headers=headers
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                        if event == "ready":
                            ready.set()
                    elif line.startswith("data:") and event == "notification":
                        data = json.loads(line.split(":", 1)[1])
                        appointment = (data.get("metadata") or {}).get("appointment_id")
                        if appointment:
                            arrivals.setdefault(str(appointment), time.perf_counter())
                            arrived.set()

        from_response: list[float] = []
        from_request: list[float] = []
        missed = 0
        timeout = httpx.Timeout(30, read=None)
        async with httpx.AsyncClient(timeout=timeout) as client:
            listener = asyncio.create_task(listen(client))
            try:
                await asyncio.wait_for(ready.wait(), 30)
                for k in range(samples):
                    if listener.done():  # raises what ended the stream
                        listener.result()
                        raise RuntimeError("the SSE stream ended")
                    # A random pause: bookings must not fall in step with a poll interval.
                    await asyncio.sleep(rng.uniform(0, 0.5))
                    body = clinic.booking_body(clinic._doctor_id(0), base + k * clinic.SLOT)
                    sent = time.perf_counter()
                    response = await client.post(
                        f"{url}{clinic.BOOKING_PATH}",
                        content=body,
                        headers={**headers, "Content-Type": "application/json"},
                    )
                    answered = time.perf_counter()
                    if response.status_code != 201:
                        raise RuntimeError(
                            f"SSE booking answered {response.status_code}: {response.text}"
                        )
                    appointment = response.json()["id"]
                    deadline = answered + 10
                    while appointment not in arrivals and time.perf_counter() < deadline:
                        arrived.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(arrived.wait(), deadline - time.perf_counter())
                    if appointment not in arrivals:
                        missed += 1
                        continue
                    from_response.append((arrivals[appointment] - answered) * 1000)
                    from_request.append((arrivals[appointment] - sent) * 1000)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                    await listener
        self.results.sse = {
            "samples": len(from_response),
            "missed": missed,
            "from_response": _percentiles(from_response),
            "from_request": _percentiles(from_request),
        }
        self.command(
            "SSE latency",
            f"httpx: GET /api/v1/notifications/stream as one patient; {samples} sequential "
            "POST /api/v1/appointments for that patient, 0-0.5 s random pause between them",
        )
        summary = self.results.sse["from_response"]
        log(
            f"commit -> SSE          p50 {summary['p50']:7.1f} ms  p99 {summary['p99']:7.1f} ms"
            f"  ({len(from_response)} samples, {missed} missed)"
        )

    # ------------------------------------------------------------------ SQL statements

    async def sql_counts(self, db: Database, allocator: SlotAllocator) -> None:
        """Statements per request on the wire: `hduce api` and `hduce worker` each reach
        PostgreSQL through a counting proxy; requests go one at a time."""
        samples = self.config.sql_samples
        url = db.url
        api_proxy = CountingProxy(url.host or "127.0.0.1", url.port or 5432)
        worker_proxy = CountingProxy(url.host or "127.0.0.1", url.port or 5432)
        await api_proxy.start()
        await worker_proxy.start()
        port = free_port()
        api = self.start(
            "api-counted", ["api"], self.hduce_env(db.server_url(api_proxy.port), port)
        )
        worker = self.start(
            "worker-counted", ["worker"], self.hduce_env(db.server_url(worker_proxy.port), port)
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # In a thread: the readiness probe's statements go through the proxies,
            # which run on this event loop (``ready`` blocks while it polls).
            await asyncio.to_thread(self.ready, api, port)
            bookings = allocator.take(samples + 5)
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:

                async def book(n: int) -> None:
                    patient, doctor, start = bookings[n]
                    response = await client.post(
                        clinic.BOOKING_PATH,
                        content=clinic.booking_body(doctor, start),
                        headers={
                            "Authorization": f"Bearer {self.tokens.patient(patient)}",
                            "Content-Type": "application/json",
                        },
                    )
                    if response.status_code != 201:
                        raise RuntimeError(
                            f"booking answered {response.status_code}: {response.text}"
                        )

                async def get(path: str, n: int) -> None:
                    token = self.tokens.patient(n % self.config.list_patients)
                    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
                    if response.status_code != 200:
                        raise RuntimeError(f"{path} answered {response.status_code}")

                for n in range(5):  # warm the statement caches
                    await book(samples + n)
                    await get(ME_PATH, n)
                    await get(LIST_PATH, n)
                await db.wait_outbox_drained(60)
                await db.wait_deliveries_done(30)
                idle_api, idle_worker, idle_seconds = await self._idle(api_proxy, worker_proxy)

                async def measure(label: str, call: Callable[[int], Any], drain: bool) -> None:
                    api_before = api_proxy.counts.snapshot()
                    worker_before = worker_proxy.counts.snapshot()
                    started = time.perf_counter()
                    # Each request's own count too: a periodic job of the API (a sweep
                    # every minute) that runs while the requests do is not in the idle
                    # window, and the subtraction can leave a stray fraction of it; the
                    # median of the per-request counts ignores it.
                    each: list[tuple[int, int]] = []
                    for n in range(samples):
                        before = api_proxy.counts.snapshot()
                        await call(n)
                        one = api_proxy.counts.minus(before)
                        # Less the outbox wake-up sent after the commit (see the report).
                        wake_ups = sum(
                            count
                            for text, count in one.by_text.items()
                            if text.startswith("SELECT pg_notify")
                        )
                        each.append((one.statements - wake_ups, one.transactions))
                    if drain:  # the worker's share: relay, notifications, e-mails
                        await db.wait_outbox_drained(60)
                        await db.wait_deliveries_done(30)
                    elapsed = time.perf_counter() - started
                    api_used = api_proxy.counts.minus(api_before)
                    worker_used = worker_proxy.counts.minus(worker_before)
                    self.results.sql[label] = {
                        "samples": samples,
                        "api": _per_request(api_used, idle_api, idle_seconds, elapsed, samples),
                        "worker": _per_request(
                            worker_used, idle_worker, idle_seconds, elapsed, samples
                        ),
                        "api_median": {
                            "statements": statistics.median(s for s, _ in each),
                            "transactions": statistics.median(t for _, t in each),
                        },
                    }
                    per = self.results.sql[label]["api"]
                    log(
                        f"SQL {label:<18} API {per['statements']:5.1f} statements, "
                        f"{per['transactions']:4.1f} transactions, {per['round_trips']:5.1f} round trips"
                        f" per request; worker {self.results.sql[label]['worker']['statements']:5.1f}"
                    )

                # Each measured caller once first: authentication's common case is a
                # caller seen in the last minutes (its account's access state cached,
                # ADR 0010), for a booking as for a read.
                for n in range(samples):
                    patient = bookings[n][0]
                    response = await client.get(
                        ME_PATH, headers={"Authorization": f"Bearer {self.tokens.patient(patient)}"}
                    )
                    if response.status_code != 200:
                        raise RuntimeError(f"{ME_PATH} answered {response.status_code}")
                await measure("booking", book, drain=True)
                for n in range(samples):
                    await get(ME_PATH, n)
                await measure("GET /auth/me", lambda n: get(ME_PATH, n), drain=False)
                await measure("list (page of 20)", lambda n: get(LIST_PATH, n), drain=False)
            self.command(
                "SQL statements",
                f"hduce api and hduce worker through counting PostgreSQL proxies; {samples} "
                "sequential requests of each kind after 5 warm-up requests; idle traffic "
                f"(polls, sweeps) measured for {IDLE_SECONDS} s and subtracted",
            )
        finally:
            api.stop()
            worker.stop()
            await api_proxy.close()
            await worker_proxy.close()

    async def _idle(
        self, api_proxy: CountingProxy, worker_proxy: CountingProxy
    ) -> tuple[WireCounts, WireCounts, float]:
        api_before = api_proxy.counts.snapshot()
        worker_before = worker_proxy.counts.snapshot()
        started = time.perf_counter()
        await asyncio.sleep(IDLE_SECONDS)
        seconds = time.perf_counter() - started
        return (
            api_proxy.counts.minus(api_before),
            worker_proxy.counts.minus(worker_before),
            seconds,
        )

    # ------------------------------------------------------------------ split processes

    async def workers(self, db: Database, allocator: SlotAllocator) -> None:
        """Booking throughput of `hduce api --workers 2` + `hduce worker` vs `hduce serve`."""
        if self.wrk is None:
            return
        c = self.config.workers_connections
        single = self.results.load("booking", c)
        if single is None:  # booking did not run at this concurrency: measure serve now
            port = free_port()
            server = self.start("serve", ["serve"], self.hduce_env(db.server_url(), port))
            try:
                self.ready(server, port)
                cpu = {"server": server.tree, "postgres": lambda: postgres_backends(db.name)}
                single = await self._booking(db, allocator, port, c, cpu, "booking")
            finally:
                server.stop()
        port = free_port()
        env = self.hduce_env(db.server_url(), port)
        api = self.start("api-2", ["api", "--workers", "2"], env)
        worker = self.start("worker", ["worker"], env)
        try:
            self.ready(api, port)
            await asyncio.sleep(2)
            self.results.rss["api --workers 2 at rest"] = api.rss()
            self.results.rss["worker at rest"] = worker.rss()
            cpu = {
                "api": api.tree,
                "worker": worker.tree,
                "postgres": lambda: postgres_backends(db.name),
            }
            split = await self._booking(db, allocator, port, c, cpu, "booking, api x2 + worker")
            self.results.rss["api --workers 2 after load"] = api.rss()
            self.results.rss["worker after load"] = worker.rss()
            self.results.workers = {
                "single": single,
                "split": split,
                "ratio": split.rate / single.rate if single.rate else None,
            }
        finally:
            api.stop()
            worker.stop()

    # ------------------------------------------------------------------ data size

    async def size(self) -> None:
        """Booking latency with ~1k vs ~1M existing appointments (same doctors, patients)."""
        if self.wrk is None:
            return
        config = self.config
        c = config.size_connections
        start = clinic.half_hour_after(datetime.now(UTC) - timedelta(days=80))
        patients = 50_000
        counts = {"small": 1_000, "large": config.size_appointments}
        # Bookings go after the last seeded visit (1M rows over 200 doctors reach ~24 days
        # ahead), at the same times in both databases.
        last_seeded = start + (config.size_appointments // config.doctors + 1) * clinic.SLOT
        base = clinic.half_hour_after(max(last_seeded, datetime.now(UTC)) + timedelta(days=1))
        self.results.size_notes = (
            f"{config.doctors} doctors, {patients:,} patients; appointments every 30 min from "
            f"{start:%Y-%m-%d} (past ones completed/cancelled/no-show/rejected, future ones "
            f"approved/pending); bookings from {base:%Y-%m-%d %H:%M} UTC on, c{c}"
        )
        for label, appointments in counts.items():
            db = Database(config.admin_url, label)
            try:
                await db.create()
                await db.seed(
                    ClinicShape(
                        doctors=config.doctors,
                        patients=patients,
                        appointments=appointments,
                        appointments_start=start,
                        upcoming=UPCOMING_VISITS,
                    )
                )
                allocator = SlotAllocator(config.doctors, patients, base)
                port = free_port()
                server = self.start("serve", ["serve"], self.hduce_env(db.server_url(), port))
                try:
                    self.ready(server, port)
                    cpu = {
                        "server": server.tree,
                        "postgres": lambda db=db: postgres_backends(db.name),
                    }
                    # At start the reminder sweep finds tomorrow's approved visits (thousands
                    # with 1M rows) and emits their reminders: let the server relay them all
                    # and go idle before measuring.
                    settling = time.perf_counter()
                    await asyncio.sleep(3)
                    drained: float | None = None
                    while time.perf_counter() - settling < 600:
                        await db.wait_outbox_drained(600)
                        await quiesce(cpu, limit_s=30)
                        if await db.count(clinic.OUTBOX_LEFT_SQL) == 0:
                            drained = time.perf_counter() - settling
                            break
                    await db.clear_delivery_backlog()
                    events = await db.count("SELECT count(*) FROM outbox")
                    self.results.size_startup[label] = (events, drained)
                    result = await self._booking(
                        db, allocator, port, c, cpu, f"booking, {appointments:,} existing"
                    )
                    self.results.size[label] = result
                finally:
                    server.stop()
            finally:
                await db.drop()


async def quiesce(
    groups: dict[str, Callable[[], Iterable[int]]], limit_s: float = 15, busy: float = 0.1
) -> float:
    """Seconds until the processes use less than ``busy`` of a core over half a second."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        meter = CpuMeter(groups)
        meter.start()
        await asyncio.sleep(0.5)
        if sum(meter.stop().values()) < busy * 0.5:
            break
    return time.perf_counter() - started


def _static(request_file: Path | Callable[[float], Path]) -> Path:
    if callable(request_file):
        raise ValueError("a computed request file needs a warm-up file")
    return request_file


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": ordered[-1], "min": ordered[0]}


def _per_request(
    used: WireCounts, idle: WireCounts, idle_seconds: float, elapsed: float, samples: int
) -> dict[str, Any]:
    """Counts per request, less the idle traffic (polls) expected over ``elapsed``."""
    scale = elapsed / idle_seconds if idle_seconds else 0.0

    def per(value: int, idle_value: int) -> float:
        return max(0.0, (value - idle_value * scale) / samples)

    texts = {
        text: max(0.0, (count - idle.by_text.get(text, 0) * scale) / samples)
        for text, count in used.by_text.items()
    }
    return {
        "statements": per(used.statements, idle.statements),
        "prepares": per(used.prepares, idle.prepares),
        "round_trips": per(used.round_trips, idle.round_trips),
        "transactions": per(used.transactions, idle.transactions),
        "by_text": sorted(
            ((text, count) for text, count in texts.items() if count >= 0.05),
            key=lambda item: -item[1],
        ),
    }
