"""What PostgreSQL alone does on this machine (``ceiling``), and authentication in
process (``auth``).

``ceiling``: the booking's transaction and the list page's statement are captured from
the application itself (its real use cases, wired by its own container, run in this
process against the bench database; a SQLAlchemy ``before_cursor_execute`` listener
records each statement's text and parameters, ``begin``/``commit`` record the
transaction), twice with different patients, doctors and slots. Parameters that differ
between the two captures become pgbench expressions (the patient, the doctor, the slot,
fresh ids, the check-in code); the rest stay the captured literals. pgbench replays the
result (``-M prepared``, like asyncpg's prepared statements) at the bench's
concurrencies: no Python between the client and PostgreSQL, so no server written in
Python can do more bookings or list pages per second on this machine.

``auth``: ``Authenticate`` as the API runs it (the app's container: its token codec,
the Redis denylist, the layered access cache), timed call by call with
``time.process_time`` once the cache is warm, with its three parts timed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import shlex
import statistics
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from explain_plans import _doctor_id, _patient_id
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from hbench import clinic
from hbench.clinic import Database, Tokens
from hbench.system import CpuMeter, MachineMeter, log, postgres_backends
from hduce.adapters.sql.outbox import OUTBOX_CHANNEL
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.queries import ListAppointments
from hduce.application.identity.policy import jti_denylist_key, session_denylist_key
from hduce.application.identity.sessions import Authenticate
from hduce.application.ports import (
    AccessTokenVerifier,
    AppointmentQuery,
    Clock,
    PageRequest,
    TokenDenylist,
    UserAccessCache,
)
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings

#: Bookings one pgbench run may hand out (its ``first`` index moves on by this much):
#: 300 slots of 200 doctors, about six days of calendar.
RUN_SPAN = 60_000
#: The ceiling's bookings start this far ahead: far past the wrk bookings (hours ahead);
#: seven runs of RUN_SPAN reach 44 days further.
CEILING_START = timedelta(days=30)
#: pgbench's summary lines.
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
_DONE = re.compile(r"number of transactions actually processed: (\d+)")
_FAILED = re.compile(r"number of failed transactions: (\d+)")


# ------------------------------------------------------------------ capture


@dataclass
class Captured:
    """One use case's statements as the application sent them: (text, parameters), with
    ``BEGIN``/``COMMIT`` markers (parameters None) where the transaction began and ended."""

    statements: list[tuple[str, tuple[Any, ...] | None]] = field(default_factory=list)
    #: The values the caller chose: name -> value (patient, doctor, start...).
    chosen: dict[str, Any] = field(default_factory=dict)
    wall: datetime = field(default_factory=lambda: datetime.now(UTC))


class _Recorder:
    def __init__(self, engine: AsyncEngine) -> None:
        self.current: Captured | None = None
        self.statements = 0
        self.checkouts = 0
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._execute)
        event.listen(sync, "begin", self._begin)
        event.listen(sync, "commit", self._commit)
        event.listen(sync, "rollback", self._rollback)
        event.listen(sync.pool, "checkout", self._checkout)

    def _execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.statements += 1
        if self.current is not None:
            self.current.statements.append((statement, tuple(parameters or ())))

    def _marker(self, text: str) -> None:
        if self.current is not None:
            self.current.statements.append((text, None))

    def _begin(self, conn: Any) -> None:
        # A read-only unit of work runs in autocommit: no BEGIN reaches PostgreSQL.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self._marker("BEGIN")

    def _commit(self, conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self._marker("COMMIT")

    def _rollback(self, conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self._marker("ROLLBACK")

    def _checkout(self, *_: Any) -> None:
        self.checkouts += 1


async def capture(
    settings: Settings, tokens: Tokens, base: datetime
) -> tuple[list[Captured], list[Captured]]:
    """Two bookings and two list pages, as the application sends them (after one of
    each untimed, which warms the caches and the access cache)."""
    container = build_container(settings)
    try:
        engine = await container.get(AsyncEngine)
        recorder = _Recorder(engine)
        bookings: list[Captured] = []
        lists: list[Captured] = []
        # Booking n: patient n, doctor n, slot n (distinct patients, doctors, slots).
        for n in range(3):
            async with container() as request:
                principal = await (await request.get(Authenticate))(tokens.patient(n))
                book = await request.get(BookAppointment)
                start = base + n * clinic.SLOT
                shot = Captured(chosen={"patient": n, "doctor": n, "start": start})
                recorder.current = shot
                await book(
                    BookAppointmentCommand(
                        actor=principal.actor,
                        doctor_id=_doctor_id(n),
                        starts_at=start,
                        reason="bench",
                    )
                )
                recorder.current = None
                if n:
                    bookings.append(shot)
        for n in range(3):
            async with container() as request:
                principal = await (await request.get(Authenticate))(tokens.patient(n))
                listing = await request.get(ListAppointments)
                shot = Captured(chosen={"patient": n})
                recorder.current = shot
                page = await listing(
                    principal.actor, AppointmentQuery(page=PageRequest(limit=20, offset=0))
                )
                recorder.current = None
                if len(page.items) != 20:
                    raise RuntimeError(f"patient {n}'s list page has {len(page.items)} rows")
                if n:
                    lists.append(shot)
        return bookings, lists
    finally:
        await container.close()


# ------------------------------------------------------------------ pgbench script


def _quote(text: str) -> str:
    """A SQL string literal pgbench leaves alone: ``:`` before a name character would
    read as a pgbench variable, so it is spelled ``chr(58)``."""
    body = text.replace("'", "''")
    pieces = re.split(r":(?=[A-Za-z0-9_])", body)
    return " || chr(58) || ".join(f"'{piece}'" for piece in pieces)


def _uuid_text(prefix: str, variable: str) -> str:
    return f"('{prefix}' || lpad(to_hex(:{variable}::bigint), 12, '0'))"


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class _Renderer:
    """Parameters -> SQL text for pgbench, from two captures of the same statements."""

    def __init__(self, first: Captured, second: Captured) -> None:
        self.first = first
        self.second = second
        #: Text of a value in ``first`` -> SQL expression (of type text) for pgbench:
        #: the seeded ids of ``bench/explain_plans.py`` (the tail is the number in hex).
        self.texts: dict[str, str] = {}
        self.fresh: dict[str, str] = {}
        if "patient" in first.chosen:
            patient = str(_patient_id(first.chosen["patient"]))
            self.texts[patient] = _uuid_text(patient[:24], "patient")
        if "doctor" in first.chosen:
            doctor = str(_doctor_id(first.chosen["doctor"]))
            self.texts[doctor] = _uuid_text(doctor[:24], "doctor")

    def _fresh(self, value: str) -> str:
        if value not in self.fresh:
            k = len(self.fresh) + 1
            self.fresh[value] = _uuid_text(f"{k:08x}-0000-7000-8000-", "i")
            self.texts[value] = self.fresh[value]
        return self.fresh[value]

    def _string(self, value: str) -> str:
        """A string with the known ids in it replaced by their expressions."""
        keys = sorted(self.texts, key=len, reverse=True)
        if not any(key in value for key in keys):
            return _quote(value)
        pattern = re.compile("|".join(re.escape(key) for key in keys))
        out, last = [], 0
        for match in pattern.finditer(value):
            if match.start() > last:
                out.append(_quote(value[last : match.start()]))
            out.append(self.texts[match.group(0)])
            last = match.end()
        if last < len(value):
            out.append(_quote(value[last:]))
        return "(" + " || ".join(out) + ")"

    def value(self, a: Any, b: Any) -> str:
        if a is None:
            return "NULL"
        if isinstance(a, bool):
            return "true" if a else "false"
        if isinstance(a, int | float):
            return repr(a)
        if isinstance(a, datetime):
            start = self.first.chosen.get("start")
            if abs(a - self.first.wall) < timedelta(minutes=5):
                return "now()"  # created_at, updated_at, at: the clock of the booking
            if start is not None and isinstance(b, datetime):
                delta = (a - start).total_seconds()
                if delta == (b - self.second.chosen["start"]).total_seconds():
                    return f"to_timestamp(:start + {int(delta)})"
            return _quote(a.isoformat())
        if isinstance(a, date):
            start = self.first.chosen.get("start")
            if start is not None and isinstance(b, date):
                days = (a - start.date()).days
                if days == (b - self.second.chosen["start"].date()).days:
                    return f"((to_timestamp(:start) AT TIME ZONE 'UTC')::date + {days})"
            return _quote(a.isoformat())
        if isinstance(a, uuid.UUID):
            a = str(a)
            b = str(b) if b is not None else b
        if isinstance(a, str):
            if a in self.texts:
                return self.texts[a]
            if a == b:
                return self._string(a)
            if _UUID.match(a):
                return self._fresh(a)
            rendered = self._string(a)
            if rendered == _quote(a):
                # Differs between two bookings yet names nothing known (the check-in
                # code, unique): a per-transaction value of the same length.
                return f"lpad('X' || :i::text, {len(a)}, '0')"
            return rendered
        if isinstance(a, list | tuple):
            pairs = zip(a, b if isinstance(b, list | tuple) else a, strict=False)
            return "ARRAY[" + ", ".join(self.value(x, y) for x, y in pairs) + "]"
        raise TypeError(f"cannot render a {type(a).__name__} parameter for pgbench")


def _sql(text: str, parameters: tuple[Any, ...], other: tuple[Any, ...], r: _Renderer) -> str:
    rendered = [r.value(a, b) for a, b in zip(parameters, other, strict=True)]

    def place(match: re.Match[str]) -> str:
        return "(" + rendered[int(match.group(1)) - 1] + ")"

    sql = re.sub(r"\$(\d+)", place, text)
    return re.sub(r"\s+", " ", sql).strip() + ";"


def script(first: Captured, second: Captured, header: Sequence[str]) -> tuple[str, list[str]]:
    """A pgbench script replaying ``first`` with what varies taken from the variables of
    ``header``; also the statements' texts as the application sent them."""
    texts_a = [text for text, _ in first.statements]
    texts_b = [text for text, _ in second.statements]
    if texts_a != texts_b:
        raise RuntimeError("the two captures sent different statements")
    renderer = _Renderer(first, second)
    lines = list(header)
    for (text, params), (_, other) in zip(first.statements, second.statements, strict=True):
        if params is None:
            lines.append(f"{text};")
        else:
            lines.append(_sql(text, params, other or (), renderer))
    return "\n".join(lines) + "\n", texts_a


BOOKING_HEADER = (
    "-- Generated by bench/hbench/ceiling.py from the booking the application sent.",
    "-- -D first=<this run's first booking> clients=<-c> doctors= patients= base=<epoch>",
    "-- k=0: each client's own count of its transactions (pgbench variables persist).",
    "\\set k :k + 1",
    "\\set i :first + :k * :clients + :client_id",
    "\\set patient :i % :patients",
    "\\set doctor :i % :doctors",
    "\\set start :base + (:i / :doctors) * 1800",
)
LIST_HEADER = (
    "-- Generated by bench/hbench/ceiling.py from the list page the application sent.",
    "\\set patient random(0, :patients - 1)",
)


# ------------------------------------------------------------------ pgbench runs


@dataclass
class PgbenchResult:
    name: str
    connections: int
    seconds: float
    transactions: int
    failed: int
    tps: float
    latency_ms: dict[str, float]
    command: str
    cpu: dict[str, float] = field(default_factory=dict)
    #: Share of all the machine's cores busy during the run (/proc/stat), and their count.
    machine_busy: float | None = None
    cores: int = 0
    #: Bookings: appointments the measured run inserted (one per transaction expected).
    booked: int | None = None
    #: What the bench database's backends were doing, sampled every 100 ms from
    #: pg_stat_activity: (state or wait event, share of backend samples), largest first.
    waits: list[tuple[str, float]] = field(default_factory=list)
    #: The HTTP concurrency whose /health this run is read beside (None: the same c).
    versus: int | None = None

    def cpu_ms_per_tx(self, group: str) -> float | None:
        if group not in self.cpu or not self.transactions:
            return None
        return self.cpu[group] * 1000 / self.transactions


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_pgbench(
    pgbench: str,
    *,
    name: str,
    db: Database,
    script_path: Path,
    connections: int,
    seconds: float,
    defines: dict[str, int],
    log_dir: Path,
) -> PgbenchResult:
    url = db.url
    prefix = log_dir / f"pgbench-{re.sub(r'[^a-z0-9]+', '-', name.lower())}-{connections}"
    argv = [
        pgbench,
        "-n",
        "-M",
        "prepared",
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        "-c",
        str(connections),
        "-j",
        str(max(1, min(2, connections))),
        "-T",
        str(max(1, round(seconds))),
        "-f",
        str(script_path),
        "-l",
        "--log-prefix",
        str(prefix),
        *(arg for key, value in defines.items() for arg in ("-D", f"{key}={value}")),
        db.name,
    ]
    for old in log_dir.glob(prefix.name + ".*"):
        old.unlink()
    env = {"PGPASSWORD": url.password} if url.password else {}
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
        env={**os.environ, **env},
    )
    out = done.stdout
    tps = _TPS.search(out)
    count = _DONE.search(out)
    if done.returncode or tps is None or count is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    failed = _FAILED.search(out)
    latencies: list[float] = []
    for path in log_dir.glob(prefix.name + ".*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000)
        path.unlink()
    latencies.sort()
    transactions = int(count.group(1))
    return PgbenchResult(
        name=name,
        connections=connections,
        seconds=transactions / float(tps.group(1)) if float(tps.group(1)) else seconds,
        transactions=transactions,
        failed=int(failed.group(1)) if failed else 0,
        tps=float(tps.group(1)),
        latency_ms={
            "50": _percentile(latencies, 0.5),
            "90": _percentile(latencies, 0.9),
            "99": _percentile(latencies, 0.99),
            "max": latencies[-1] if latencies else float("nan"),
        },
        command=shlex.join(argv),
    )


class Ceiling:
    """The ``ceiling`` scenario on one bench database (the server stopped)."""

    def __init__(
        self,
        *,
        pgbench: str,
        db: Database,
        settings: Settings,
        tokens: Tokens,
        work: Path,
        doctors: int,
        patients: int,
        list_patients: int,
        seconds: float,
        warmup: float,
        quiesce: Callable[[dict[str, Callable[[], Iterable[int]]]], Any],
    ) -> None:
        self.pgbench = pgbench
        self.db = db
        self.settings = settings
        self.tokens = tokens
        self.work = work
        self.doctors = doctors
        self.patients = patients
        self.list_patients = list_patients
        self.seconds = seconds
        self.warmup = warmup
        self.quiesce = quiesce
        self.base = clinic.half_hour_after(datetime.now(UTC) + CEILING_START)
        self.runs = 0
        self.booked = 0
        self.scripts: dict[str, Path] = {}
        self.statements: dict[str, list[str]] = {}

    async def prepare(self) -> None:
        # Capture from patient/doctor 0..2 at the ceiling's own base; pgbench bookings
        # begin RUN_SPAN later, so none of them meets a captured one.
        bookings, lists = await capture(self.settings, self.tokens, self.base)
        booking_text, booking_statements = script(bookings[0], bookings[1], BOOKING_HEADER)
        list_text, list_statements = script(lists[0], lists[1], LIST_HEADER)
        for name, text, statements in (
            ("booking", booking_text, booking_statements),
            ("list", list_text, list_statements),
        ):
            path = self.work / f"ceiling-{name}.sql"
            path.write_text(text)
            self.scripts[name] = path
            self.statements[name] = statements
        if booking_text.rstrip().endswith("\nCOMMIT;"):
            # The app notifies after the commit, not in the transaction (ADR 0009): the
            # transaction as it was, with its NOTIFY, beside it shows what the lock that
            # PostgreSQL takes for NOTIFY (one for the whole cluster) costs the ceiling.
            head = booking_text.rstrip().removesuffix("COMMIT;")
            path = self.work / "ceiling-booking-with-notify.sql"
            path.write_text(f"{head}SELECT pg_notify('{OUTBOX_CHANNEL}', '');\nCOMMIT;\n")
            self.scripts["booking-with-notify"] = path
        self.runs = 1

    def _defines(self, name: str, connections: int) -> dict[str, int]:
        if name.startswith("booking"):
            first = self.runs * RUN_SPAN
            self.runs += 1
            return {
                "k": 0,
                "first": first,
                "clients": connections,
                "doctors": self.doctors,
                "patients": self.patients,
                "base": int(self.base.timestamp()),
            }
        return {"patients": self.list_patients}

    async def run(
        self, name: str, label: str, connections: int, versus: int | None = None
    ) -> PgbenchResult:
        cpu: dict[str, Callable[[], Iterable[int]]] = {
            "postgres": lambda: postgres_backends(self.db.name)
        }
        if self.warmup > 0:
            await asyncio.to_thread(
                run_pgbench,
                self.pgbench,
                name=f"{label} warm-up",
                db=self.db,
                script_path=self.scripts[name],
                connections=connections,
                seconds=self.warmup,
                defines=self._defines(name, connections),
                log_dir=self.work,
            )
            if name.startswith("booking"):
                await self._analyze()
            await self.quiesce(cpu)
        if name.startswith("booking"):
            self.booked = await self.db.count(
                "SELECT count(*) FROM appointments WHERE id::text LIKE '00000001-0000-7000-%'"
            )
        meter = CpuMeter(cpu)
        machine = MachineMeter()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        meter.start()
        machine.start()
        stop = asyncio.Event()
        sampler = asyncio.create_task(self._sample_waits(stop))
        result = await asyncio.to_thread(
            run_pgbench,
            self.pgbench,
            name=label,
            db=self.db,
            script_path=self.scripts[name],
            connections=connections,
            seconds=self.seconds,
            defines=self._defines(name, connections),
            log_dir=self.work,
        )
        result.versus = versus
        result.machine_busy = machine.stop()
        result.cores = machine.cores
        stop.set()
        result.waits = await sampler
        result.cpu = meter.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result.cpu["pgbench"] = (after.ru_utime + after.ru_stime) - (
            children.ru_utime + children.ru_stime
        )
        if name.startswith("booking"):
            # ON CONFLICT DO NOTHING would hide a booking that did not happen: count them.
            booked = await self.db.count(
                "SELECT count(*) FROM appointments WHERE id::text LIKE '00000001-0000-7000-%'"
            )
            result.booked = booked - self.booked
            self.booked = booked
        log(
            f"{label:<22} c{connections:<3} {result.tps:8.1f} tx/s  p50 "
            f"{result.latency_ms['50']:7.1f} ms  p99 {result.latency_ms['99']:7.1f} ms  "
            f"{result.failed} failed  machine busy {result.machine_busy:.0%}"
        )
        return result

    async def _analyze(self) -> None:
        """Fresh statistics before a measured booking run. The seed's appointments are
        all in the past; bookings land beyond the histogram of ``starts_at``, and with
        stale statistics the conflict check walks ``ix_appointments_occupying_starts_at``
        over every future booking instead of the doctor's and the patient's indexes, so
        each booking costs more than the one before (bench/README.md, Ceilings). Here the
        ceiling is the best PostgreSQL does: statistics as autovacuum would keep them."""
        connection = await asyncpg.connect(self.db.dsn)
        try:
            await connection.execute("ANALYZE")
        finally:
            await connection.close()

    async def _sample_waits(self, stop: asyncio.Event) -> list[tuple[str, float]]:
        """pg_stat_activity of the bench database's client backends every 100 ms:
        'running (CPU)' for an active backend without a wait event, else its wait
        event; 'idle in transaction' is a backend waiting for pgbench's next statement."""
        connection = await asyncpg.connect(self.db.dsn)
        seen: Counter[str] = Counter()
        try:
            while not stop.is_set():
                rows = await connection.fetch(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'",
                    self.db.name,
                )
                for state, kind, wait in rows:
                    if state == "active":
                        seen["running (CPU)" if kind is None else f"{kind}: {wait}"] += 1
                    elif state == "idle in transaction":
                        seen["idle in transaction (waiting for the client)"] += 1
                    else:
                        seen["idle (between transactions)"] += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)
        finally:
            await connection.close()
        total = sum(seen.values())
        return [(name, n / total) for name, n in seen.most_common(6)] if total else []

    async def leave_clean(self) -> None:
        """The pgbench bookings' events are nobody's: mark them relayed."""
        count = await self.db.count(
            "WITH done AS (UPDATE outbox SET published_at = now() WHERE published_at IS NULL"
            " RETURNING 1) SELECT count(*) FROM done"
        )
        if count:
            log(f"marked the {count:,} events of the pgbench bookings as relayed")


# ------------------------------------------------------------------ authentication


@dataclass
class AuthFigures:
    calls: int
    #: CPU ms per call (process_time): p50, mean, p90, p99.
    authenticate: dict[str, float]
    verify: dict[str, float]
    denylist: dict[str, float]
    cache: dict[str, float]
    statements: int
    checkouts: int
    users: int
    #: The misses of the first round (each user's first request): statements sent.
    cold_statements: int


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": _percentile(ordered, 0.5),
        "mean": statistics.fmean(ordered) if ordered else float("nan"),
        "p90": _percentile(ordered, 0.9),
        "p99": _percentile(ordered, 0.99),
    }


async def authentication(settings: Settings, tokens: Tokens, users: int, calls: int) -> AuthFigures:
    container = build_container(settings)
    try:
        engine = await container.get(AsyncEngine)
        recorder = _Recorder(engine)
        async with container() as request:
            authenticate = await request.get(Authenticate)
            verifier = await request.get(AccessTokenVerifier)
            denylist = await request.get(TokenDenylist)
            accounts = await request.get(UserAccessCache)
            clock = await request.get(Clock)
        pool = [tokens.patient(n) for n in range(users)]
        for token in pool:  # each account's first request: the cache fills
            await authenticate(token)
        cold = recorder.statements
        statements, checkouts = recorder.statements, recorder.checkouts
        timings: dict[str, list[float]] = {"auth": [], "verify": [], "deny": [], "cache": []}
        for n in range(calls):
            token = pool[n % users]
            # The whole use case, then each part alone on the same token.
            started = time.process_time()
            await authenticate(token)
            timings["auth"].append(time.process_time() - started)
            started = time.process_time()
            claims = verifier.verify(token, now=clock.now())
            timings["verify"].append(time.process_time() - started)
            keys = [jti_denylist_key(claims.jti)]
            if claims.session_id is not None:
                keys.append(session_denylist_key(claims.session_id))
            started = time.process_time()
            await denylist.is_denied(*keys)
            timings["deny"].append(time.process_time() - started)
            started = time.process_time()
            found = await accounts.get(claims.user_id)
            timings["cache"].append(time.process_time() - started)
            if found is None:
                raise RuntimeError("the access cache lost an entry during the run")
        return AuthFigures(
            calls=calls,
            authenticate=_summary([t * 1000 for t in timings["auth"]]),
            verify=_summary([t * 1000 for t in timings["verify"]]),
            denylist=_summary([t * 1000 for t in timings["deny"]]),
            cache=_summary([t * 1000 for t in timings["cache"]]),
            statements=recorder.statements - statements,
            checkouts=recorder.checkouts - checkouts,
            users=users,
            cold_statements=cold,
        )
    finally:
        await container.close()
