"""A clinic to load: throwaway databases, seeding in SQL, tokens, request files.

Doctors, patients and past appointments are inserted with the ``generate_series``
statements of ``bench/explain_plans.py`` (same ids: doctor n is
``00000000-0000-4000-8000-<n>``, patient n ``...-9000-<n>``), plus working hours
around the clock and, for the "my appointments" list, a status history per
appointment. Access tokens are minted in process by the server's own token class
with the server's secret and the claims a sign-in gives (``sub``, ``role``, ``sid``,
``jti``...): signing in thousands of patients over HTTP would only meet the
per-client sign-in rate limits, and costs nothing the scenarios measure.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
from explain_plans import (
    APPOINTMENTS_SQL,
    DOCTOR_USERS_SQL,
    DOCTORS_SQL,
    PATIENT_USERS_SQL,
    SPECIALTY_SQL,
    _doctor_id,
    _patient_id,
)
from sqlalchemy.engine import URL, make_url

from hbench.system import log
from hduce.adapters.security.tokens import JoseAccessTokens
from hduce.adapters.sql import upgrade_database
from hduce.domain.identity import Role

SLOT = timedelta(minutes=30)
JWT_ISSUER = "hduce"
JWT_AUDIENCE = "hduce-api"
BOOKING_PATH = "/api/v1/appointments"

#: Every doctor works 00:00-24:00 (end 00:00 = midnight) on every day, in UTC.
WORKING_HOURS_SQL = """
INSERT INTO doctor_working_hours (doctor_id, weekday, start_time, end_time)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, d, '00:00', '00:00'
FROM generate_series(0, $1::int - 1) AS n, generate_series(0, 6) AS d
"""

#: The appointments of APPOINTMENTS_SQL as the application would have left them: a
#: legal status history (booked, then approved and so on), version = its length.
HISTORY_SQL = """
WITH paths(status, steps) AS (VALUES
    ('pending',   ARRAY['pending']),
    ('approved',  ARRAY['pending', 'approved']),
    ('completed', ARRAY['pending', 'approved', 'completed']),
    ('no_show',   ARRAY['pending', 'approved', 'no_show']),
    ('cancelled', ARRAY['pending', 'cancelled']),
    ('rejected',  ARRAY['pending', 'rejected']))
INSERT INTO appointment_status_history
    (appointment_id, position, from_status, to_status, at, actor_role, actor_id, reason)
SELECT a.id, s.i - 1, CASE WHEN s.i = 1 THEN NULL ELSE p.steps[s.i - 1] END, p.steps[s.i],
       a.created_at + (s.i - 1) * interval '1 hour',
       CASE WHEN s.i = 1 THEN 'patient' ELSE 'doctor' END,
       CASE WHEN s.i = 1 THEN a.patient_id ELSE a.doctor_id END,
       CASE WHEN p.steps[s.i] IN ('cancelled', 'rejected') THEN 'bench' END
FROM appointments a
JOIN paths p ON p.status = a.status
CROSS JOIN LATERAL generate_series(1, array_length(p.steps, 1)) AS s(i)
"""

HISTORY_FIXUP_SQL = """
UPDATE appointments a SET
    version = array_length(p.steps, 1),
    cancelled_by = CASE WHEN a.status = 'cancelled' THEN 'patient' END,
    cancelled_by_id = CASE WHEN a.status = 'cancelled' THEN a.patient_id END,
    cancellation_reason = CASE WHEN a.status = 'cancelled' THEN 'bench' END,
    rejection_reason = CASE WHEN a.status = 'rejected' THEN 'bench' END
FROM (VALUES ('pending', ARRAY['pending']), ('approved', ARRAY['pending', 'approved']),
             ('completed', ARRAY['pending', 'approved', 'completed']),
             ('no_show', ARRAY['pending', 'approved', 'no_show']),
             ('cancelled', ARRAY['pending', 'cancelled']),
             ('rejected', ARRAY['pending', 'rejected'])) AS p(status, steps)
WHERE p.status = a.status
"""

#: Upcoming visits far ahead (``ClinicShape.upcoming``): $1 first slot, $2 how many,
#: $3 doctors, $4 first patient. Visit i: doctor i mod D, slot i div D, patient $4 + i.
UPCOMING_SQL = """
INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, blocked_starts_at,
                          blocked_ends_at, status, reason, version, created_at, updated_at)
SELECT md5('upcoming' || i)::uuid,
       ('00000000-0000-4000-9000-' || lpad(to_hex($4::int + i), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(i % $3::int), 12, '0'))::uuid,
       s.starts_at, s.starts_at + interval '30 minutes',
       s.starts_at, s.starts_at + interval '30 minutes',
       'approved', 'check-up', 2, now(), now()
FROM generate_series(0, $2::int - 1) AS i,
     LATERAL (SELECT $1::timestamptz + (i / $3::int) * interval '30 minutes' AS starts_at) AS s
"""
UPCOMING_HISTORY_SQL = """
INSERT INTO appointment_status_history
    (appointment_id, position, from_status, to_status, at, actor_role, actor_id, reason)
SELECT a.id, s.i, CASE WHEN s.i = 0 THEN NULL ELSE 'pending' END,
       CASE WHEN s.i = 0 THEN 'pending' ELSE 'approved' END, a.created_at,
       CASE WHEN s.i = 0 THEN 'patient' ELSE 'doctor' END,
       CASE WHEN s.i = 0 THEN a.patient_id ELSE a.doctor_id END, NULL
FROM appointments a CROSS JOIN generate_series(0, 1) AS s(i)
WHERE a.id IN (SELECT md5('upcoming' || n)::uuid FROM generate_series(0, $1::int - 1) AS n)
"""

OUTBOX_LEFT_SQL = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
DELIVERIES_LEFT_SQL = (
    "SELECT count(*) FROM notifications WHERE status = 'pending' AND channel != 'in_app'"
)


def half_hour_after(moment: datetime) -> datetime:
    """The first :00 or :30 at or after ``moment`` (UTC)."""
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    return moment + timedelta(minutes=(-moment.minute) % 30)


@dataclass(frozen=True)
class ClinicShape:
    doctors: int
    patients: int
    #: Past (and, with ``appointments_start`` far enough back, future) appointments.
    appointments: int = 0
    #: Appointments go to the first ``appointment_patients`` patients (0 = all).
    appointment_patients: int = 0
    appointments_start: datetime | None = None
    history: bool = False
    #: Approved visits 200 days ahead for patients from ``appointment_patients`` on:
    #: a clinic in use always has some, and without them the planner's statistics say
    #: no visit is occupying, so the conflict check scans every booking of the run
    #: (the partial indexes look empty to it until the next ANALYZE).
    upcoming: int = 0


class Database:
    """A throwaway PostgreSQL database on the admin URL's server."""

    def __init__(self, admin_url: str, label: str) -> None:
        admin = make_url(admin_url)
        self.name = f"hduce_bench_{label}_{uuid.uuid4().hex[:8]}"
        self._admin_dsn = _dsn(admin)
        self.url: URL = admin.set(drivername="postgresql+asyncpg", database=self.name)
        self.dsn = _dsn(self.url)
        self.created = False

    def server_url(self, port: int | None = None) -> str:
        """The ``HDUCE_DATABASE_URL`` of this database (through ``port`` if given)."""
        url = self.url.set(drivername="postgresql")
        if port is not None:
            url = url.set(host="127.0.0.1", port=port)
        return url.render_as_string(hide_password=False)

    async def create(self) -> None:
        connection = await asyncpg.connect(self._admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await connection.close()
        self.created = True
        await upgrade_database(self.url.render_as_string(hide_password=False))
        log(f"created and migrated {self.name}")

    async def drop(self) -> None:
        if not self.created:
            return
        connection = await asyncpg.connect(self._admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await connection.close()
        self.created = False
        log(f"dropped {self.name}")

    async def seed(self, shape: ClinicShape) -> None:
        started = time.perf_counter()
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(SPECIALTY_SQL)
            await connection.execute(DOCTOR_USERS_SQL, shape.doctors)
            await connection.execute(DOCTORS_SQL, shape.doctors)
            await connection.execute(WORKING_HOURS_SQL, shape.doctors)
            await connection.execute(PATIENT_USERS_SQL, shape.patients)
            owners = shape.appointment_patients or shape.patients
            first_slot = shape.appointments_start or datetime.now(UTC)
            chunk = 100_000
            now = datetime.now(UTC)
            for first in range(0, shape.appointments, chunk):
                last = min(shape.appointments, first + chunk) - 1
                await connection.execute(
                    APPOINTMENTS_SQL, now, first, last, first_slot, shape.doctors, owners
                )
                if shape.appointments > chunk:
                    log(f"  appointments {last + 1:>9,} / {shape.appointments:,}")
            if shape.history and shape.appointments:
                await connection.execute(HISTORY_FIXUP_SQL)
                await connection.execute(HISTORY_SQL)
            if shape.upcoming:
                ahead = half_hour_after(now + timedelta(days=200))
                await connection.execute(
                    UPCOMING_SQL, ahead, shape.upcoming, shape.doctors, shape.appointment_patients
                )
                await connection.execute(UPCOMING_HISTORY_SQL, shape.upcoming)
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()
        log(
            f"seeded {self.name}: {shape.doctors} doctors, {shape.patients:,} patients, "
            f"{shape.appointments:,} appointments in {time.perf_counter() - started:.1f} s"
        )

    async def wait_outbox_drained(self, limit_s: float) -> float | None:
        """Seconds until no outbox row is unpublished; None if still busy after ``limit_s``."""
        return await self._wait_for_zero(OUTBOX_LEFT_SQL, limit_s)

    async def wait_deliveries_done(self, limit_s: float) -> float | None:
        """Seconds until no e-mail/SMS waits for the delivery sweep (batches of 100 every 5 s, up to 20 in a row)."""
        return await self._wait_for_zero(DELIVERIES_LEFT_SQL, limit_s)

    async def clear_delivery_backlog(self) -> None:
        """Mark the e-mails earlier scenarios left waiting as sent, so that the next
        processes start without a backlog that is not theirs."""
        connection = await asyncpg.connect(self.dsn)
        try:
            done = await connection.execute(
                "UPDATE notifications SET status = 'sent', sent_at = now()"
                " WHERE status = 'pending' AND channel != 'in_app'"
            )
        finally:
            await connection.close()
        if done != "UPDATE 0":
            log(f"marked the e-mail backlog of earlier scenarios as sent ({done})")

    async def count(self, sql: str) -> int:
        connection = await asyncpg.connect(self.dsn)
        try:
            return int(await connection.fetchval(sql))
        finally:
            await connection.close()

    async def _wait_for_zero(self, sql: str, limit_s: float) -> float | None:
        started = time.perf_counter()
        connection = await asyncpg.connect(self.dsn)
        try:
            while time.perf_counter() - started < limit_s:
                if await connection.fetchval(sql) == 0:
                    return time.perf_counter() - started
                await asyncio.sleep(0.2)
        finally:
            await connection.close()
        return None


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Tokens:
    """Access tokens of the seeded patients, minted once each, valid ``ttl``."""

    secret: str
    ttl: timedelta = timedelta(hours=4)
    _issued: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tokens = JoseAccessTokens.with_secret(
            self.secret, issuer=JWT_ISSUER, audience=JWT_AUDIENCE, ttl=self.ttl
        )

    def patient(self, n: int) -> str:
        token = self._issued.get(n)
        if token is None:
            token = self._tokens.issue(
                user_id=_patient_id(n),
                role=Role.PATIENT,
                now=datetime.now(UTC),
                session_id=uuid.uuid4(),
            ).token
            self._issued[n] = token
        return token


@dataclass
class SlotAllocator:
    """Hands out bookings nobody made yet: booking i is doctor ``i % D`` at slot
    ``i // D`` (30 minutes each from ``base``) for patient ``i % P``. The D bookings of
    one slot have D different patients, and a patient's bookings never overlap, so
    every booking handed out can succeed (until the 90-day booking horizon)."""

    doctors: int
    patients: int
    base: datetime
    next_index: int = 0

    def take(self, count: int) -> list[tuple[int, UUID, datetime]]:
        first = self.next_index
        self.next_index += count
        return [
            (
                i % self.patients,
                _doctor_id(i % self.doctors),
                self.base + (i // self.doctors) * SLOT,
            )
            for i in range(first, first + count)
        ]

    @property
    def reach(self) -> datetime:
        """The end of the last slot handed out so far."""
        return self.base + (self.next_index // self.doctors + 1) * SLOT


def booking_body(doctor: UUID, starts_at: datetime) -> str:
    return json.dumps(
        {
            "doctor_id": str(doctor),
            "starts_at": starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reason": "bench",
        }
    )


def write_booking_file(path: Path, allocator: SlotAllocator, tokens: Tokens, count: int) -> Path:
    lines = [
        f"POST\t{BOOKING_PATH}\t{tokens.patient(patient)}\t{booking_body(doctor, start)}"
        for patient, doctor, start in allocator.take(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_get_file(path: Path, target: str, tokens: Tokens, patients: range | None) -> Path:
    """GET ``target`` as each patient in ``patients`` in turn (anonymous if None)."""
    if patients is None:
        lines = [f"GET\t{target}\t\t"]
    else:
        lines = [f"GET\t{target}\t{tokens.patient(n)}\t" for n in patients]
    path.write_text("\n".join(lines) + "\n")
    return path
