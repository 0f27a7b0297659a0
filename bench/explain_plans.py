"""Query plans and timings of the hot appointment queries on ~1,000,000 rows (PostgreSQL).

Creates a throwaway database, migrates it, fills it in SQL with ``generate_series``
(200 doctors, 50,000 patients, 1,000,000 appointments over ~104 days of 30-minute
slots, ~77 % of them in the past and terminal, the rest pending/approved; 200,000
outbox rows of which 1,000 unpublished), then prints ``EXPLAIN (ANALYZE, BUFFERS)``
and timings of the very statements the repositories build. Drops the database after.

    uv run python bench/explain_plans.py [--admin-url URL] [--appointments N] [--runs N]

The admin URL defaults to $HDUCE_BENCH_POSTGRES_URL, then $HDUCE_TEST_POSTGRES_URL,
then postgresql+asyncpg://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import create_engine, upgrade_database
from hduce.adapters.sql.explain import Explain
from hduce.adapters.sql.models import AppointmentRow
from hduce.adapters.sql.outbox import next_batch_statement
from hduce.adapters.sql.repositories.appointment_list import list_statement
from hduce.adapters.sql.repositories.appointments import (
    approved_starting_between_statement,
    busy_slots_statement,
    occupying_overlapping_statement,
    overdue_statement,
)
from hduce.application.ports import AppointmentQuery
from hduce.domain.scheduling import TimeSlot

DOCTORS = 200
PATIENTS = 50_000
OUTBOX_ROWS = 200_000
OUTBOX_UNPUBLISHED = 1_000
SLOT = timedelta(minutes=30)
#: "Now" of the data set: appointments start 80 days before it.
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=80)


def _doctor_id(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{n:012x}")


def _patient_id(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-9000-{n:012x}")


SPECIALTY_SQL = """
INSERT INTO specialties (id, name, name_key, description)
VALUES ('00000000-0000-4000-a000-000000000001', 'General', 'general', '')
"""

#: $1 = number of doctors.
DOCTOR_USERS_SQL = """
INSERT INTO users (id, email, full_name, role, is_active, timezone, email_opt_out,
                   sms_opt_out, version, created_at, email_verified_at)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       'doctor' || n || '@bench.example', 'Doctor ' || n, 'doctor', true, 'UTC',
       false, false, 1, now(), now()
FROM generate_series(0, $1::int - 1) AS n
"""

DOCTORS_SQL = """
INSERT INTO doctors (user_id, licence_number, specialty_id, timezone, consultation_fee,
                     visit_minutes, bio, version)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'LIC-' || n,
       '00000000-0000-4000-a000-000000000001', 'UTC', 50, 30, '', 1
FROM generate_series(0, $1::int - 1) AS n
"""

#: $1 = number of patients.
PATIENT_USERS_SQL = """
INSERT INTO users (id, email, full_name, role, is_active, timezone, email_opt_out,
                   sms_opt_out, version, created_at, email_verified_at)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(n), 12, '0'))::uuid,
       'patient' || n || '@bench.example', 'Patient ' || n, 'patient', true, 'UTC',
       false, false, 1, now(), now()
FROM generate_series(0, $1::int - 1) AS n
"""

#: Appointment i: doctor d = i % D at slot k = i / D, patient (k * D + d) % P, so the D
#: visits of one time slot have D different patients and the exclusion constraints hold.
#: $1 now, $2..$3 the range of i, $4 first slot, $5 D, $6 P.
APPOINTMENTS_SQL = """
INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, blocked_starts_at,
                          blocked_ends_at, status, reason, version, created_at, updated_at)
SELECT md5(i::text)::uuid,
       ('00000000-0000-4000-9000-'
        || lpad(to_hex(((i / $5::int) * $5::int + i % $5::int) % $6::int), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(i % $5::int), 12, '0'))::uuid,
       s.starts_at, s.starts_at + interval '30 minutes',
       s.starts_at, s.starts_at + interval '30 minutes',
       CASE WHEN s.starts_at < $1 THEN
                (ARRAY['completed','completed','completed','completed','completed',
                       'completed','completed','cancelled','no_show','rejected'])[1 + i % 10]
            ELSE (ARRAY['approved','approved','approved','pending'])[1 + i % 4] END,
       'check-up', 1, s.starts_at - interval '7 days', s.starts_at - interval '7 days'
FROM generate_series($2::bigint, $3::bigint) AS i,
     LATERAL (SELECT $4::timestamptz + (i / $5::int) * interval '30 minutes' AS starts_at) AS s
"""

#: $1 now, $2 rows, $3 how many of the newest are unpublished.
OUTBOX_SQL = """
INSERT INTO outbox (id, type, aggregate_id, payload, created_at, published_at, attempts)
SELECT md5('event' || n)::uuid, 'appointment.requested', md5(n::text)::uuid,
       jsonb_build_object('n', n), $1::timestamptz - (($2::int - n) * interval '1 second'),
       CASE WHEN n > $2::int - $3::int THEN NULL ELSE $1::timestamptz END, 0
FROM generate_series(1, $2::int) AS n
"""


async def fill(dsn: str, appointments: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await connection.execute(SPECIALTY_SQL)
        await connection.execute(DOCTOR_USERS_SQL, DOCTORS)
        await connection.execute(DOCTORS_SQL, DOCTORS)
        await connection.execute(PATIENT_USERS_SQL, PATIENTS)
        chunk = 100_000
        for first in range(0, appointments, chunk):
            last = min(appointments, first + chunk) - 1
            await connection.execute(APPOINTMENTS_SQL, NOW, first, last, START, DOCTORS, PATIENTS)
            print(f"  appointments {last + 1:>9,} / {appointments:,}", flush=True)
        await connection.execute(OUTBOX_SQL, NOW, OUTBOX_ROWS, OUTBOX_UNPUBLISHED)
        await connection.execute("VACUUM ANALYZE")
        print(f"  filled in {time.perf_counter() - started:.1f} s", flush=True)
        counts = await connection.fetchrow(
            "SELECT count(*) AS total,"
            " count(*) FILTER (WHERE status IN ('pending','proposed','approved','checked_in')) AS occupying"
            " FROM appointments"
        )
        print(f"  appointments: {counts['total']:,} ({counts['occupying']:,} occupying)")
    finally:
        await connection.close()


async def explain(engine: AsyncEngine, title: str, statement: Any) -> None:
    async with engine.connect() as connection:
        rows = (await connection.execute(Explain(statement, analyze=True))).all()
    print(f"\n--- {title}")
    for (line,) in rows:
        print(f"  {line}")


async def timing(title: str, run: Callable[[int], Awaitable[None]], runs: int) -> None:
    samples = []
    for n in range(runs):
        started = time.perf_counter()
        await run(n)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(
        f"  {title:<44} median {statistics.median(samples):7.3f} ms   "
        f"p95 {p95:7.3f} ms   ({runs} runs, round trip through SQLAlchemy + asyncpg)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("HDUCE_BENCH_POSTGRES_URL")
        or os.environ.get("HDUCE_TEST_POSTGRES_URL")
        or "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    admin = make_url(args.admin_url)
    name = f"hduce_bench_{uuid.uuid4().hex[:12]}"
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    url = admin.set(drivername="postgresql+asyncpg", database=name)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    print(f"throwaway database {name}")
    try:
        await upgrade_database(url.render_as_string(hide_password=False))
        await fill(dsn, args.appointments)
        engine = create_engine(url, pool_size=2)
        try:
            await report(engine, args.runs)
        finally:
            await engine.dispose()
    finally:
        conn = await asyncpg.connect(admin_dsn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        print(f"\ndropped {name}")


async def report(engine: AsyncEngine, runs: int) -> None:
    doctor, patient = _doctor_id(7), _patient_id(4242)
    tomorrow = NOW.replace(hour=10, minute=0) + timedelta(days=1)
    booking = TimeSlot(tomorrow, tomorrow + SLOT)
    conflict = occupying_overlapping_statement(booking, doctor_id=doctor, patient_id=patient)
    mine = AppointmentQuery(patient_id=patient)
    doctors_upcoming = AppointmentQuery(doctor_id=doctor, starts_from=NOW)
    order = (AppointmentRow.starts_at, AppointmentRow.id)
    week = TimeSlot(tomorrow, tomorrow + timedelta(days=7))

    plans: list[tuple[str, Any]] = [
        ("conflict check (doctor OR patient, occupying, overlapping)", conflict),
        ("list: a patient's appointments, page 1", list_statement(mine).order_by(*order).limit(50)),
        (
            "list: total for the same filter",
            select(func.count()).select_from(list_statement(mine).subquery()),
        ),
        (
            "list: a doctor's upcoming appointments, page 1",
            list_statement(doctors_upcoming).order_by(*order).limit(50),
        ),
        ("slot search: a doctor's busy slots in 7 days", busy_slots_statement(doctor, week)),
        (
            "reminders: approved starting in a 5-minute window",
            approved_starting_between_statement(tomorrow, tomorrow + timedelta(minutes=5)),
        ),
        ("overdue sweep", overdue_statement(NOW, NOW - timedelta(minutes=15))),
        ("outbox relay: next batch (FOR UPDATE SKIP LOCKED)", next_batch_statement(100)),
    ]
    for title, statement in plans:
        await explain(engine, title, statement)

    print("\n--- timings")
    async with engine.connect() as connection:

        async def conflict_check(n: int) -> None:
            start = tomorrow + (n % 40) * SLOT
            statement = occupying_overlapping_statement(
                TimeSlot(start, start + SLOT),
                doctor_id=_doctor_id(n % DOCTORS),
                patient_id=_patient_id((n * 7919) % PATIENTS),
            )
            (await connection.execute(statement)).all()

        async def patient_list(n: int) -> None:
            query = AppointmentQuery(patient_id=_patient_id((n * 7919) % PATIENTS))
            (await connection.execute(list_statement(query).order_by(*order).limit(50))).all()
            await connection.scalar(
                select(func.count()).select_from(list_statement(query).subquery())
            )

        async def doctor_list(n: int) -> None:
            query = AppointmentQuery(doctor_id=_doctor_id(n % DOCTORS), starts_from=NOW)
            (await connection.execute(list_statement(query).order_by(*order).limit(50))).all()

        async def busy(n: int) -> None:
            (await connection.execute(busy_slots_statement(_doctor_id(n % DOCTORS), week))).all()

        async def relay_poll(_n: int) -> None:
            (await connection.execute(next_batch_statement(100))).all()
            await connection.rollback()  # release the row locks, like a relay's commit

        await timing("conflict check", conflict_check, runs)
        await timing("patient list page + total", patient_list, runs)
        await timing("doctor upcoming list page", doctor_list, runs)
        await timing("busy slots (7 days)", busy, runs)
        await timing("outbox batch of 100 (locking)", relay_poll, runs)


if __name__ == "__main__":
    asyncio.run(main())
