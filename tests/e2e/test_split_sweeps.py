"""Reminders and the expiry sweep with a broker in the loop: two ``hduce worker``
processes (real subprocesses through the ``hduce`` command) on PostgreSQL and
RabbitMQ or Kafka both run the reminder and expiry sweeps as they start, at the same
moment; each due reminder and each overdue request must still be acted on once, as the
people concerned see it: one e-mail each, as a local SMTP server received them.

The visits are booked through the use case on a clock three hours back (so the
booking rules hold then) and are, by the real clock: approved visits starting within
the hour (``HDUCE_REMINDER_OFFSETS=1h``: one reminder each) and requests whose start
passed unanswered (cancelled by the sweep: patient and doctor are told). The doctors
work round the clock in a zone where it is about noon now, so no visit straddles
their midnight whenever the test runs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from datetime import time as time_
from pathlib import Path

import pytest

from hduce.adapters.security.passwords import Argon2Parameters
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.ports import UnitOfWorkFactory
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import LocalInterval, SchedulingPolicy, WeeklyHours
from tests import services
from tests.e2e.harness import SECRET, store_doctor, store_specialty, store_user
from tests.e2e.server import clean_environment, run_command
from tests.e2e.split_support import (
    letter,
    repeated,
    stop,
    wait_started,
    worker_processes,
)
from tests.fakes import FixedClock
from tests.integration.brokers.support import wait_until
from tests.integration.delivery.local_smtp import smtp_controller
from tests.services import RecordingHandler

#: Approved visits starting within the hour (one reminder each), per doctor.
DUE_PER_DOCTOR = 3
#: Requests whose start passed unanswered (cancelled by the sweep), per doctor.
OVERDUE_PER_DOCTOR = 2
DOCTORS = 2
VISIT_MINUTES = 5
VISIT = timedelta(minutes=VISIT_MINUTES)
PATIENCE = 120.0
ROUND_THE_CLOCK = WeeklyHours({day: (LocalInterval(time_(0), time_(0)),) for day in range(7)})

REMINDER, CANCELLED, APPROVED, SUBMITTED, NEW_REQUEST = (
    "Appointment reminder",
    "Appointment cancelled",
    "Appointment approved",
    "Appointment request submitted",
    "New appointment request",
)


def noon_zone(now: datetime) -> str:
    """An ``Etc/GMT`` zone where it is about 12:00 at ``now`` (POSIX signs: GMT-5 is
    UTC+5)."""
    offset = 12 - now.hour  # -11..12
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@pytest.fixture(params=["rabbitmq", "kafka"])
def broker_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def seed_visits(
    env: Mapping[str, str], now: datetime
) -> tuple[list[tuple[User, User, datetime]], list[tuple[User, User, datetime]]]:
    """(patient, doctor, start) of the visits due a reminder and of the overdue requests."""
    container = build_container(
        Settings.from_env(dict(env)), hasher_parameters=Argon2Parameters.for_tests()
    )
    try:
        tag = uuid7().hex[-8:]
        zone = noon_zone(now)

        async def person(role: Role, index: int) -> User:
            user = User(
                id=uuid7(),
                email=f"sweep.{role.value}.{index}.{tag}@example.org",
                full_name=f"Sweep {role.value.title()} {index} {tag}",
                role=role,
                created_at=now,
                timezone=zone if role is Role.DOCTOR else "UTC",
                email_verified_at=now,  # booking may require a proven address
            )
            return await store_user(container, user)

        specialty = await store_specialty(container, f"Sweeps {tag}")
        doctors = [await person(Role.DOCTOR, i) for i in range(DOCTORS)]
        for doctor in doctors:
            await store_doctor(
                container,
                doctor,
                specialty_id=specialty,
                hours=ROUND_THE_CLOCK,
                visit_minutes=VISIT_MINUTES,
            )
        first_due = (now + timedelta(minutes=20)).replace(second=0, microsecond=0)
        first_overdue = (now - timedelta(minutes=90)).replace(second=0, microsecond=0)
        due: list[tuple[User, User, datetime]] = []
        overdue: list[tuple[User, User, datetime]] = []
        index = 0
        for doctor in doctors:
            for k in range(DUE_PER_DOCTOR):
                due.append((await person(Role.PATIENT, index), doctor, first_due + k * 2 * VISIT))
                index += 1
            for k in range(OVERDUE_PER_DOCTOR):
                start = first_overdue + k * 2 * VISIT
                overdue.append((await person(Role.PATIENT, index), doctor, start))
                index += 1

        # Booked three hours ago, when every start was far enough ahead.
        book = BookAppointment(
            await container.get(UnitOfWorkFactory),
            FixedClock(now - timedelta(hours=3)),
            SchedulingPolicy(),
        )
        admin = Actor(Role.ADMIN, uuid7())
        for patient, doctor, start in due:
            await book(
                BookAppointmentCommand(
                    actor=admin,
                    doctor_id=doctor.id,
                    patient_id=patient.id,
                    starts_at=start,
                    approve=True,
                )
            )
        for patient, doctor, start in overdue:
            await book(
                BookAppointmentCommand(
                    actor=Actor(Role.PATIENT, patient.id), doctor_id=doctor.id, starts_at=start
                )
            )
        return due, overdue
    finally:
        await container.close()


async def test_two_workers_remind_and_expire_each_visit_once(
    broker_url: str, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    mailbox = RecordingHandler()
    with smtp_controller(mailbox) as smtp_port:
        async with services.temporary_database(postgres_url, prefix="hduce_sweeps") as database:
            settings_env = {
                "HDUCE_DATABASE_URL": database,
                "HDUCE_REDIS_URL": redis_url,
                "HDUCE_BROKER_URL": broker_url,
                "HDUCE_BROKER_PREFIX": f"sweeps_{uuid7().hex[-10:]}",
                "HDUCE_JWT_SECRET": SECRET,
                "HDUCE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
                "HDUCE_REMINDER_OFFSETS": "1h",
            }
            env = clean_environment(**settings_env, HDUCE_LOG_LEVEL="DEBUG")
            run_command(["db", "upgrade"], env, tmp_path)
            due, overdue = await seed_visits(settings_env, datetime.now(UTC))
            # Booking: approved (patient) per due visit; submitted + new request per
            # overdue one. Sweeps: a reminder per due visit; cancelled to both sides.
            wanted = Counter(
                {
                    APPROVED: len(due),
                    REMINDER: len(due),
                    SUBMITTED: len(overdue),
                    NEW_REQUEST: len(overdue),
                    CANCELLED: 2 * len(overdue),
                }
            )

            with worker_processes(2, tmp_path, env) as workers:
                wait_started(workers)

                async def all_arrived() -> bool:
                    return len(mailbox.messages) >= wanted.total()

                await wait_until(all_arrived, timeout=PATIENCE, what="every e-mail")
                # A duplicate would come within a sweep or two (5 s apart): wait for it.
                await asyncio.sleep(6)
                assert [w.alive() for w in workers] == [True, True]
                stop(workers)

    letters = Counter(letter(m) for m in mailbox.messages)
    assert repeated(letters) == {}, "e-mails received more than once"
    assert Counter(subject for _, subject, _ in letters.elements()) == wanted
    reminded = Counter(to for to, subject, _ in letters.elements() if subject == REMINDER)
    assert reminded == Counter((patient.email,) for patient, _, _ in due)
    cancelled = Counter(to for to, subject, _ in letters.elements() if subject == CANCELLED)
    assert cancelled == Counter(
        [(patient.email,) for patient, _, _ in overdue]
        + [(doctor.email,) for _, doctor, _ in overdue]
    )
