"""The split deployment as it runs in production, every part a real process started
through the ``hduce`` command: one ``hduce api`` and two ``hduce worker`` on
PostgreSQL and Redis, with a local SMTP server (aiosmtpd) and a local Twilio-style SMS
API in this process; the events go through RabbitMQ, Kafka (tansu in tests), or no
broker at all (each worker relays the outbox rows it claims to its own consumers).

Patients book and doctors approve over HTTP. The API only writes (each change and
its event commit together in the outbox); the workers relay the outbox to the broker,
consume it as competing consumers, store the notifications and deliver email and SMS.
Then, as the people concerned would see it:

* every in-app notification is in its recipient's inbox (``GET /notifications``) once;
* every email arrived at the SMTP server once, and every SMS at the SMS API once,
  none missing, nothing else;
* a client on the API's notification stream was pushed each of its person's
  notifications live, across processes (the workers publish through Redis);
* both workers took a share of the events (their own Prometheus counters), stayed up,
  and stopped cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from hduce.domain.identity import User
from hduce.domain.ids import uuid7
from tests import services
from tests.e2e.harness import APPOINTMENTS, SECRET, VISIT, iso
from tests.e2e.server import clean_environment, run_command, running_server
from tests.e2e.split_support import (
    SplitClinic,
    StreamWatcher,
    first_free_weekday,
    inbox,
    letter,
    repeated,
    seed_clinic,
    stop,
    text_message,
    wait_started,
    worker_processes,
)
from tests.integration.brokers.support import wait_until
from tests.integration.delivery.local_smtp import smtp_controller
from tests.integration.delivery.sms_provider import LocalSmsProvider, serve
from tests.services import RecordingHandler

#: Bookings, each approved: 2 events, 3 in-app notifications, 3 emails, 2-3 SMS.
BOOKINGS = 30
PATIENTS = 5  # odd: the two visits of one time slot (one per doctor) have two patients
DOCTORS = 2
#: Requests in flight at once (each a booking, then its approval).
CONCURRENCY = 4
#: How long everything may take to arrive after the last approval, on a loaded
#: 2-core machine (email and SMS go out on a 5 s sweep).
PATIENCE = 120.0

REQUESTED, APPROVED, NEW_REQUEST = (
    "Appointment request submitted",
    "Appointment approved",
    "New appointment request",
)


@pytest.fixture(params=["in-process", "rabbitmq", "kafka"])
def broker_url(request: pytest.FixtureRequest) -> str | None:
    """The broker between the workers' relays and their consumers; ``in-process``:
    none (each worker relays the rows it claims to its own consumers)."""
    if request.param == "in-process":
        return None
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def plan(clinic: SplitClinic, starts: datetime) -> list[tuple[User, User, datetime]]:
    """(patient, doctor, start) of each booking: the doctors' days fill up side by
    side, and no patient has two visits at once."""
    return [
        (
            clinic.patients[k % PATIENTS],
            clinic.doctors[k % DOCTORS],
            starts + (k // DOCTORS) * VISIT,
        )
        for k in range(BOOKINGS)
    ]


async def book_and_approve_all(
    client: httpx.AsyncClient, clinic: SplitClinic, bookings: list[tuple[User, User, datetime]]
) -> list[str]:
    """Every booking, then its approval, ``CONCURRENCY`` at a time; the ids in order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(patient: User, doctor: User, at: datetime) -> str:
        async with gate:
            return await book_and_approve(client, clinic, patient, doctor, at)

    return list(await asyncio.gather(*(one(*booking) for booking in bookings)))


async def inboxes_hold(
    client: httpx.AsyncClient, clinic: SplitClinic, wanted: dict[UUID, Counter[tuple[str, str]]]
) -> bool:
    """Whether every inbox holds at least as many notifications as it must."""
    for user in clinic.people:
        total, _ = await inbox(client, clinic.headers[user.id])
        if total < wanted[user.id].total():
            return False
    return True


async def book_and_approve(
    client: httpx.AsyncClient, clinic: SplitClinic, patient: User, doctor: User, at: datetime
) -> str:
    booked = await client.post(
        APPOINTMENTS,
        json={"doctor_id": str(doctor.id), "starts_at": iso(at), "reason": "Check-up"},
        headers=clinic.headers[patient.id],
    )
    assert booked.status_code == 201, booked.text
    appointment_id: str = booked.json()["id"]
    approved = await client.post(
        f"{APPOINTMENTS}/{appointment_id}/approve",
        headers={**clinic.headers[doctor.id], "If-Match": booked.headers["ETag"]},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    return appointment_id


def expected_inboxes(
    clinic: SplitClinic, bookings: list[tuple[User, User, datetime]], ids: list[str]
) -> dict[UUID, Counter[tuple[str, str]]]:
    """(appointment, title) of each in-app notification each person must have."""
    wanted: dict[UUID, Counter[tuple[str, str]]] = {u.id: Counter() for u in clinic.people}
    for (patient, doctor, _), appointment_id in zip(bookings, ids, strict=True):
        wanted[patient.id].update([(appointment_id, REQUESTED), (appointment_id, APPROVED)])
        wanted[doctor.id].update([(appointment_id, NEW_REQUEST)])
    return wanted


def about(items: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((n["metadata"].get("appointment_id"), n["title"]) for n in items)


def deployment_env(
    database: str,
    redis_url: str,
    broker_url: str | None,
    smtp_port: int,
    sms: LocalSmsProvider,
) -> dict[str, str]:
    """The settings every process of the deployment shares."""
    broker = (
        {"HDUCE_BROKER_URL": broker_url, "HDUCE_BROKER_PREFIX": f"split_{uuid7().hex[-10:]}"}
        if broker_url is not None
        else {}
    )
    return {
        "HDUCE_DATABASE_URL": database,
        "HDUCE_REDIS_URL": redis_url,
        **broker,
        "HDUCE_JWT_SECRET": SECRET,
        "HDUCE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "HDUCE_SMS_API_URL": sms.api_url,
        "HDUCE_SMS_ACCOUNT_SID": sms.account_sid,
        "HDUCE_SMS_AUTH_TOKEN": sms.auth_token,
        "HDUCE_SMS_FROM": "+15005550006",
    }


async def test_one_api_and_two_workers_tell_everyone_exactly_once(
    broker_url: str | None, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    mailbox = RecordingHandler()
    with smtp_controller(mailbox) as smtp_port, serve(LocalSmsProvider()) as sms:
        async with services.temporary_database(postgres_url, prefix="hduce_split") as database:
            settings_env = deployment_env(database, redis_url, broker_url, smtp_port, sms)
            # DEBUG: a failure's worker logs then name each event and who handled it.
            env = clean_environment(**settings_env, HDUCE_LOG_LEVEL="DEBUG")
            run_command(["db", "upgrade"], env, tmp_path)  # what an operator runs first
            clinic = await seed_clinic(
                settings_env, patients=PATIENTS, doctors=DOCTORS, doctor_phones=1
            )
            bookings = plan(clinic, first_free_weekday(datetime.now(UTC)))
            watched = [clinic.patients[0], clinic.doctors[0]]
            figures: dict[str, float] = {}

            # The workers start while the API does (both take many seconds here).
            with (
                worker_processes(2, tmp_path, env) as workers,
                running_server(tmp_path, env, command="api") as base_url,
            ):
                wait_started(workers)
                async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                    watchers = [StreamWatcher(client, clinic.headers[u.id]) for u in watched]
                    async with watchers[0].open(), watchers[1].open():
                        started = time.monotonic()
                        ids = await book_and_approve_all(client, clinic, bookings)
                        figures["requests"] = time.monotonic() - started
                        wanted = expected_inboxes(clinic, bookings, ids)
                        await wait_until(
                            lambda: inboxes_hold(client, clinic, wanted),
                            timeout=PATIENCE,
                            what="every notification in its inbox",
                        )
                        figures["stored"] = time.monotonic() - started
                        for user, watcher in zip(watched, watchers, strict=True):
                            _, items = await inbox(client, clinic.headers[user.id])
                            await watcher.wait_for({n["id"] for n in items}, PATIENCE)

                    emails = sum(c.total() for c in wanted.values())
                    texts = sum(wanted[u.id].total() for u in clinic.people if u.phone)

                    async def delivered() -> bool:
                        return len(mailbox.messages) >= emails and len(sms.messages()) >= texts

                    await wait_until(delivered, timeout=PATIENCE, what="every email and SMS")
                    figures["delivered"] = time.monotonic() - started
                    assert [w.alive() for w in workers] == [True, True]
                    # Stopped (cleanly) before counting: nothing more can arrive.
                    stop(workers)
                    inboxes = {
                        u.id: await inbox(client, clinic.headers[u.id]) for u in clinic.people
                    }

    # In the app: each person's inbox holds what they were told, each once.
    for user in clinic.people:
        total, items = inboxes[user.id]
        assert total == len(items) == len({n["id"] for n in items})
        assert about(items) == wanted[user.id], user.full_name

    # Live: each watched person's stream was pushed each of their notifications, once,
    # and stayed open throughout.
    for user, watcher in zip(watched, watchers, strict=True):
        _, items = inboxes[user.id]
        assert not repeated(Counter(watcher.ids)), user.full_name
        assert set(watcher.ids) == {n["id"] for n in items}, user.full_name
        assert not watcher.ended, f"{user.full_name}'s stream ended early"

    # By email and SMS: what arrived, exactly once, nothing missing, nothing else.
    people = {u.id: u for u in clinic.people}
    expected_mail = Counter(
        ((people[uid].email,), n["title"], n["message"])
        for uid, (_, items) in inboxes.items()
        for n in items
    )
    expected_sms = Counter(
        (people[uid].phone, n["message"])
        for uid, (_, items) in inboxes.items()
        for n in items
        if people[uid].phone is not None
    )
    received_mail = Counter(letter(m) for m in mailbox.messages)
    received_sms = Counter(text_message(s) for s in sms.messages())
    assert repeated(received_mail) == {}, "emails received more than once"
    assert repeated(received_sms) == {}, "SMS received more than once"
    assert received_mail == expected_mail
    assert received_sms == expected_sms
    assert sms.refused == []

    # Both workers did part of the work; together, each event once.
    consumed = [w.consumed() for w in workers]
    mails_sent = [w.sent("email") for w in workers]
    sms_sent = [w.sent("sms") for w in workers]
    print(  # the figures worth quoting (pytest -s)
        f"\n{(broker_url or 'in-process').split(':')[0]}: {BOOKINGS} bookings + approvals "
        f"over HTTP in {figures['requests']:.1f} s; inboxes complete after "
        f"{figures['stored']:.1f} s, every email and SMS after {figures['delivered']:.1f} s; "
        f"events consumed per worker {consumed}, emails sent {mails_sent}, SMS {sms_sent}; "
        f"streamed {[len(w.ids) for w in watchers]}"
    )
    assert all(count > 0 for count in consumed), consumed
    assert sum(consumed) >= 2 * BOOKINGS
    assert (sum(mails_sent), sum(sms_sent)) == (emails, texts)
