"""Worker throughput: one ``hduce worker`` draining a burst of events, per broker.

For each broker (``--brokers``, default RabbitMQ and Kafka), on a throwaway PostgreSQL
database: starts ONE ``hduce worker`` (``HDUCE_BROKER_URL``, a fresh
``HDUCE_BROKER_PREFIX``, Redis for the live stream), warms it up with a few events,
then commits a burst of ``--events`` appointment events (``appointment.requested`` and
``appointment.approved`` in turn, between seeded users) to the outbox in one
transaction, then notifies the worker as ``hduce api`` does after its commits
(``PostgresOutboxNotifier``). The worker relays
them to the broker and its ``notifications`` consumer turns each into stored
notifications. Every ~250 ms the bench counts, in the database, the outbox rows
relayed, the inbox rows (``processed_events``: events whose effects are committed)
and the notifications stored, and reads the worker's CPU time and RSS from /proc.

Printed and written to ``bench/results/<date>-<commit>-worker-throughput[-label].md``
(and a ``.json`` beside it): events/s relayed and consumed, notifications/s, the
broker lag (relayed minus handled) over time and its maximum, the time to drain,
CPU and RSS. With ``--baseline <earlier .json>`` each figure is shown beside the
earlier run's, with the ratio. With ``--profile`` a second burst of the same size
runs under ``py-spy record`` and the top frames are reported. Nothing is asserted.

    uv run python bench/worker_throughput.py [--quick] [--brokers rabbit,kafka,redis,nats]
        [--events 10000] [--profile] [--label after] [--baseline results/....json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from hbench.in_process import add_service_urls
from hbench.profiling import Profile, Recorder, summarise
from hbench.system import (
    ROOT,
    Process,
    cpu_seconds,
    git,
    hduce_bin,
    load_average,
    log,
    py_spy,
    rss_mb,
    save_json,
    server_env,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql import upgrade_database
from hduce.adapters.sql.engine import create_engine
from hduce.adapters.sql.outbox import write_events
from hduce.adapters.sql.outbox_notifier import PostgresOutboxNotifier
from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.events import AppointmentApproved, AppointmentRequested, DomainEvent
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7

BROKER_URLS = {
    "rabbit": ("HDUCE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    "kafka": ("HDUCE_TEST_KAFKA_URL", "kafka://127.0.0.1:19092"),
    "redis": ("HDUCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "nats": ("HDUCE_TEST_NATS_URL", "nats://127.0.0.1:4222"),
}
PATIENTS, DOCTORS = 200, 20
WARMUP_EVENTS = 50
SAMPLE_SECONDS = 0.25
#: Where a worker's time goes, as shares of the samples with each function on the stack.
ON_STACK = (
    "Consumers._handle",
    "HandleEventNotifications.__call__",
    "SqlProcessedEvents.first_time",
    "HandleEventNotifications._parties",
    "SqlNotificationRepository.add",
    "SqlNotificationRepository.add_all",
    "SqlUnitOfWork.commit",
    "AsyncAdapt_asyncpg_connection._async_ping",
    "RedisRealtimeFanout.publish",
    "KafkaMessage.ack",
    "OutboxRelay.drain",
    "BrokerEventPublisher.publish",
    "_SelectorSocketTransport.write",
)
#: The notifications consumer's name in the inbox (``processed_events.consumer``).
CONSUMER = "notifications"


@dataclass
class Sample:
    at: float  # seconds since the burst was committed
    relayed: int
    handled: int
    notifications: int
    cpu: float | None
    rss: float | None


@dataclass
class BurstResult:
    broker: str
    events: int
    relay_seconds: float | None = None  # committed -> last event relayed
    drain_seconds: float | None = None  # committed -> last event's effects committed
    notifications: int = 0
    max_broker_lag: int = 0  # max over samples of relayed - handled
    worker_cpu_seconds: float | None = None
    worker_rss_mb_max: float | None = None
    worker_rss_mb_start: float | None = None
    samples: list[Sample] = field(default_factory=list)
    error: str = ""
    profile: Profile | None = None
    #: (function, % of samples with it on the stack) for ``ON_STACK``.
    on_stack: list[tuple[str, float]] = field(default_factory=list)

    @property
    def relay_rate(self) -> float | None:
        return self.events / self.relay_seconds if self.relay_seconds else None

    @property
    def event_rate(self) -> float | None:
        return self.events / self.drain_seconds if self.drain_seconds else None

    @property
    def notification_rate(self) -> float | None:
        return self.notifications / self.drain_seconds if self.drain_seconds else None

    @property
    def cpu_ms_per_event(self) -> float | None:
        if self.worker_cpu_seconds is None or not self.events:
            return None
        return self.worker_cpu_seconds * 1000 / self.events

    @property
    def cpu_share(self) -> float | None:
        if self.worker_cpu_seconds is None or not self.drain_seconds:
            return None
        return self.worker_cpu_seconds / self.drain_seconds

    def figures(self) -> dict[str, float | None]:
        return {
            "relayed events/s": self.relay_rate,
            "consumed events/s": self.event_rate,
            "notifications/s": self.notification_rate,
            "time to drain (s)": self.drain_seconds,
            "max broker lag (events)": float(self.max_broker_lag),
            "worker CPU ms/event": self.cpu_ms_per_event,
            "worker CPU (cores)": self.cpu_share,
            "worker RSS max (MB)": self.worker_rss_mb_max,
        }


# ------------------------------------------------------------------ data


async def seed_users(connection: asyncpg.Connection) -> tuple[list[UUID], list[UUID]]:
    """Patients and doctors as plain users: the notifications handler reads only them."""
    now = datetime.now(UTC)
    patients = [uuid7() for _ in range(PATIENTS)]
    doctors = [uuid7() for _ in range(DOCTORS)]
    user = (True, "UTC", False, False, 1, now)  # active, timezone, opt-outs, version
    rows = [
        (uid, f"{role.value}-{uid.hex}@bench.local", f"Bench {role.value} {n}", role.value, *user)
        for role, ids in ((Role.PATIENT, patients), (Role.DOCTOR, doctors))
        for n, uid in enumerate(ids)
    ]
    columns = ["id", "email", "full_name", "role", "is_active", "timezone"]
    columns += ["email_opt_out", "sms_opt_out", "version", "created_at"]
    await connection.copy_records_to_table("users", records=rows, columns=columns)
    return patients, doctors


def burst(count: int, patients: list[UUID], doctors: list[UUID]) -> list[DomainEvent]:
    """``count`` events: a request, then its approval, for ``count / 2`` appointments."""
    now = datetime.now(UTC)
    events: list[DomainEvent] = []
    for n in range(count):
        pair = n // 2
        appointment = uuid7() if n % 2 == 0 else events[-1].aggregate_id
        starts = now + timedelta(days=1, minutes=10 * pair)
        common: dict[str, Any] = {
            "appointment_id": appointment,
            "patient_id": patients[pair % len(patients)],
            "doctor_id": doctors[pair % len(doctors)],
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=10),
            "reason": None,
            "replaces": None,
        }
        if n % 2 == 0:
            payload: Any = AppointmentRequested(
                **common,
                from_status=None,
                status=AppointmentStatus.PENDING,
                actor_role=Role.PATIENT,
                actor_id=common["patient_id"],
            )
        else:
            payload = AppointmentApproved(
                **common,
                from_status=AppointmentStatus.PENDING,
                status=AppointmentStatus.APPROVED,
                actor_role=Role.DOCTOR,
                actor_id=common["doctor_id"],
            )
        events.append(
            DomainEvent(
                occurred_at=now,
                aggregate_id=appointment,
                aggregate_version=n % 2 + 1,
                payload=payload,
            )
        )
    return events


async def commit_events(url: str, events: list[DomainEvent]) -> None:
    """The outbox rows in one transaction, then the wake-up, as ``hduce api`` commits them."""
    engine = create_engine(url)
    notifier = PostgresOutboxNotifier(engine)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await write_events(session, events)
        notifier.notify()
    finally:
        await notifier.aclose()
        await engine.dispose()


async def counts(connection: asyncpg.Connection) -> tuple[int, int, int]:
    row = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL),"
        " (SELECT count(*) FROM processed_events WHERE consumer = $1),"
        " (SELECT count(*) FROM notifications)",
        CONSUMER,
    )
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


# ------------------------------------------------------------------ one broker


async def wait_for_log(worker: Process, text: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.tail()}")
        if text in worker.log_path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no {text!r} in the worker's log after {limit:.0f} s:\n{worker.tail()}")


async def wait_handled(connection: asyncpg.Connection, target: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while (await counts(connection))[1] < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {target} events handled after {limit:.0f} s")
        await asyncio.sleep(0.2)


async def measure_burst(
    url: str,
    connection: asyncpg.Connection,
    worker: Process,
    result: BurstResult,
    events: list[DomainEvent],
    limit: float,
) -> None:
    relayed0, handled0, notified0 = await counts(connection)
    pid = worker.pid
    cpu0 = cpu_seconds(pid)
    result.worker_rss_mb_start = rss_mb(pid)
    await commit_events(url, events)
    started = time.perf_counter()
    n = len(events)
    while True:
        relayed, handled, notified = await counts(connection)
        now = time.perf_counter() - started
        cpu = cpu_seconds(pid)
        sample = Sample(
            at=now,
            relayed=relayed - relayed0,
            handled=handled - handled0,
            notifications=notified - notified0,
            cpu=None if cpu is None or cpu0 is None else cpu - cpu0,
            rss=rss_mb(pid),
        )
        result.samples.append(sample)
        if result.relay_seconds is None and sample.relayed >= n:
            result.relay_seconds = now
        if sample.handled >= n:
            result.drain_seconds = now
            result.notifications = sample.notifications
            result.worker_cpu_seconds = sample.cpu
            break
        if now > limit:
            result.error = f"not drained after {limit:.0f} s ({sample.handled}/{n} handled)"
            result.notifications = sample.notifications
            result.worker_cpu_seconds = sample.cpu
            break
        if worker.popen.poll() is not None:
            result.error = f"the worker exited:\n{worker.tail()}"
            break
        await asyncio.sleep(SAMPLE_SECONDS)
    result.max_broker_lag = max((s.relayed - s.handled for s in result.samples), default=0)
    rss = [s.rss for s in result.samples if s.rss is not None]
    result.worker_rss_mb_max = max(rss) if rss else None


async def run_broker(broker: str, args: argparse.Namespace, logs: Path) -> BurstResult:
    env_name, default = BROKER_URLS[broker]
    broker_url = os.environ.get(env_name, default)
    admin = make_url(args.admin_url)
    name = f"hduce_bench_wt_{uuid4().hex[:8]}"
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    url = admin.set(database=name).render_as_string(hide_password=False)
    dsn = admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    result = BurstResult(broker=broker, events=args.events)
    admin_connection = await asyncpg.connect(admin_dsn)
    await admin_connection.execute(f'CREATE DATABASE "{name}"')
    worker: Process | None = None
    try:
        await upgrade_database(url)
        connection = await asyncpg.connect(dsn)
        try:
            patients, doctors = await seed_users(connection)
            env = server_env(
                {
                    "HDUCE_DATABASE_URL": url,
                    "HDUCE_REDIS_URL": args.redis_url,
                    "HDUCE_BROKER_URL": broker_url,
                    "HDUCE_BROKER_PREFIX": f"bench-{uuid4().hex[:8]}",
                    "HDUCE_JWT_SECRET": secrets.token_hex(32),
                    "HDUCE_LOG_FORMAT": "json",
                    "HDUCE_LOG_LEVEL": "INFO",
                }
            )
            worker = Process(f"worker-{broker}", [hduce_bin(), "worker"], env, logs)
            await wait_for_log(worker, "worker started", 90)
            await commit_events(url, burst(WARMUP_EVENTS, patients, doctors))
            await wait_handled(connection, WARMUP_EVENTS, 120)
            log(f"{broker}: worker {worker.pid} warm; burst of {args.events} events")
            await measure_burst(
                url,
                connection,
                worker,
                result,
                burst(args.events, patients, doctors),
                args.timeout,
            )
            log(
                f"{broker}: drained in {_f(result.drain_seconds)} s, "
                f"{_f(result.event_rate)} events/s, {_f(result.notification_rate)} notifications/s, "
                f"max broker lag {result.max_broker_lag} {result.error}"
            )
            tool = py_spy()
            if args.profile and tool and not result.error:
                seconds = max(3, min(60, int(result.drain_seconds or 10)))
                output = logs / f"py-spy-{broker}.txt"
                recorder = Recorder(tool, worker.pid, seconds, output)
                await asyncio.sleep(1)  # py-spy attaches
                profiled = BurstResult(broker=broker, events=args.events)
                await measure_burst(
                    url,
                    connection,
                    worker,
                    profiled,
                    burst(args.events, patients, doctors),
                    args.timeout,
                )
                recorder.finish(f"worker, {broker}", timeout=seconds + 60)
                # Summarised here: ``finish`` leaves out the root process (granian's
                # supervisor), which for the worker is the process itself.
                raw = output.read_text() if output.exists() else ""
                result.profile = summarise(f"worker, {broker}", raw, " ".join(recorder.argv))
                result.on_stack = on_stack(raw)
                log(f"{broker}: profiled burst drained in {_f(profiled.drain_seconds)} s")
        finally:
            await connection.close()
    except Exception as error:  # one broker failing must not lose the others' figures
        result.error = f"{type(error).__name__}: {error}"
        log(f"{broker}: {result.error}")
    finally:
        if worker is not None:
            worker.stop()
        await admin_connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin_connection.close()
    return result


# ------------------------------------------------------------------ report


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def lag_series(result: BurstResult, points: int = 12) -> str:
    """Relayed / handled at evenly spaced sample times: the lag's shape over the burst."""
    samples = result.samples
    if not samples:
        return ""
    step = max(1, len(samples) // points)
    picked = samples[::step]
    if picked[-1] is not samples[-1]:
        picked.append(samples[-1])
    return ", ".join(f"{s.at:.1f}s {s.relayed}/{s.handled}" for s in picked)


def markdown(
    results: list[BurstResult],
    args: argparse.Namespace,
    facts: dict[str, str],
    baseline: dict[str, Any] | None,
) -> str:
    lines = [
        f"# Worker throughput, {facts['date']} ({facts['commit']})",
        "",
        f"One `hduce worker` on PostgreSQL; a burst of {args.events:,} events committed to the "
        "outbox in one transaction; figures from the database every 250 ms. "
        f"Load average {facts['load_start']} at the start, {facts['load_end']} at the end. "
        f"{args.note}".rstrip(),
        "",
    ]
    names = list(BurstResult(broker="", events=0).figures())
    before = {r["broker"]: r["figures"] for r in (baseline or {}).get("results", [])}
    header = ["figure", *(r.broker for r in results)]
    if before:
        header = ["figure"]
        for r in results:
            header += [f"{r.broker} before", f"{r.broker} after", "after/before"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        row = [name]
        for r in results:
            now = r.figures()[name]
            if before:
                then = before.get(r.broker, {}).get(name)
                ratio = now / then if now is not None and then else None
                row += [_f(then), _f(now), _f(ratio, 2)]
            else:
                row.append(_f(now))
        lines.append("| " + " | ".join(row) + " |")
    if before:
        lines += [
            "",
            f"Before: {baseline.get('facts', {}).get('commit', '?')} "  # type: ignore[union-attr]
            f"({baseline.get('facts', {}).get('label', '')}), same machine, same command.",
        ]
    lines += ["", "## Lag over time (seconds after the commit: relayed / handled)", ""]
    for r in results:
        lines.append(f"* {r.broker}: {lag_series(r)}" + (f" — **{r.error}**" if r.error else ""))
    profiled = [r for r in results if r.profile is not None]
    if profiled:
        lines += ["", "## py-spy, during a second burst", ""]
        for r in profiled:
            assert r.profile is not None
            lines += profile_lines(r.profile, r.on_stack)
    lines += ["", "## Machine", ""] + [f"* {k}: {v}" for k, v in facts.items()]
    return "\n".join(lines) + "\n"


def on_stack(raw: str) -> list[tuple[str, float]]:
    """Share of the samples with each function of ``ON_STACK`` anywhere on the stack."""
    counts = dict.fromkeys(ON_STACK, 0)
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        functions = {frame.split(" (", 1)[0] for frame in stack.split(";")}
        for name in functions & counts.keys():
            counts[name] += int(count)
    return [(name, 100 * n / total) for name, n in counts.items() if n] if total else []


def profile_lines(p: Profile, stack: list[tuple[str, float]] | None = None) -> list[str]:
    lines = [f"### {p.name}", "", f"`{p.command}`", ""]
    if p.error or not p.samples:
        return [*lines, f"no samples: {p.error}", ""]
    share = 100 * p.hduce_inclusive / p.samples
    return [
        *lines,
        f"{p.samples} samples; HDUCE's code on the stack in {share:.0f}%.",
        "",
        "| self time by package | % |",
        "|---|---|",
        *(f"| {pkg} | {100 * c / p.samples:.1f} |" for pkg, c in p.by_package),
        "",
        "| top frames by self time | % |",
        "|---|---|",
        *(f"| `{frame}` | {100 * c / p.samples:.1f} |" for frame, c in p.top_self),
        "",
        "| on the stack (inclusive) | % |",
        "|---|---|",
        *(f"| `{name}` | {share:.1f} |" for name, share in stack or []),
        "",
    ]


async def main(args: argparse.Namespace) -> None:
    baseline = args.baseline_data
    facts = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "label": args.label,
        "cores": str(os.cpu_count()),
        "python": sys.version.split()[0],
        "load_start": load_average(),
    }
    logs = Path(tempfile.mkdtemp(prefix="hduce-bench-worker-"))
    log(f"logs in {logs}")
    results = [await run_broker(b, args, logs) for b in args.brokers.split(",") if b]
    facts["load_end"] = load_average()
    text = markdown(results, args, facts, baseline)
    print(text)
    suffix = f"-{args.label}" if args.label else ""
    stem = f"{datetime.now(UTC):%Y-%m-%d}-{facts['commit']}-worker-throughput{suffix}"
    out = ROOT / "bench" / "results" / f"{stem}.md"
    out.write_text(text)
    data = {
        "facts": facts,
        "results": [
            {
                "broker": r.broker,
                "figures": r.figures(),
                "error": r.error,
                "samples": [asdict(s) for s in r.samples],
            }
            for r in results
        ],
    }
    save_json(out.with_suffix(".json"), data)
    log(f"wrote {out.relative_to(ROOT)} and its .json")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--brokers", default="rabbit,kafka", help="among rabbit,kafka,redis,nats")
    parser.add_argument("--events", type=int, help="burst size (10,000; --quick 1,000)")
    parser.add_argument("--quick", action="store_true", help="1,000 events: under a minute")
    parser.add_argument("--profile", action="store_true", help="a second burst under py-spy")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a burst may take")
    parser.add_argument("--label", default="", help="appended to the results file name")
    parser.add_argument("--note", default="", help="a sentence for the report (what else ran)")
    parser.add_argument("--baseline", help="an earlier run's .json: figures side by side")
    add_service_urls(parser)
    args = parser.parse_args()
    if args.events is None:
        args.events = 1_000 if args.quick else 10_000
    args.baseline_data = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    unknown = set(args.brokers.split(",")) - set(BROKER_URLS)
    if unknown:
        parser.error(f"unknown brokers: {', '.join(sorted(unknown))}")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
