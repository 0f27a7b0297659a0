"""A booked series over HTTP, on SQLite and on PostgreSQL + Redis: the patient gets one
summary message ("your series: N booked, M could not be booked"), by e-mail as the
SMTP server receives it, instead of one per occurrence; and ``Idempotency-Key`` makes
retrying a series booking safe: the same key and body replay the first answer and
book nothing twice, copies racing included."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from hduce.application.notifications.delivery import DeliverPendingNotifications
from tests.e2e.harness import (
    API,
    APPOINTMENTS,
    NOW,
    WEDNESDAY_10,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
    iso,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer

SERIES = f"{APPOINTMENTS}/series"
KEY = "0b9f2c4e-series-key-7d1a"
SUMMARY_SUBJECT = "Your appointment series"


async def _post(world: ClinicWorld, *, key: str | None = None, **overrides: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "doctor_id": world.id("doctor"),
        "starts_at": iso(WEDNESDAY_10),
        "rrule": "FREQ=WEEKLY;COUNT=4",
        "mode": "book_what_fits",
        **overrides,
    }
    headers = await world.auth("patient")
    if key is not None:
        headers["Idempotency-Key"] = key
    return await world.client.post(SERIES, json=body, headers=headers)


async def _series_count(world: ClinicWorld) -> int:
    return len(
        {a["id"] for a in await world.all_appointments() if a["patient_id"] == world.id("patient")}
    )


async def test_the_patient_gets_one_summary_of_a_booked_series(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        {"HDUCE_SMTP_URL": smtp_server.url}, backend=backend, clock=FixedClock(NOW)
    )
    world = await ClinicWorld.open(client)
    # The third Wednesday is taken: 3 of 4 can be booked.
    await world.booked("other_patient", starts_at=WEDNESDAY_10 + timedelta(weeks=2))
    response = await _post(world)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert (plan["fitting"], plan["total"]) == (3, 4)

    await world.deliver_events()
    await world.deliver_events()
    await (await world.container.get(DeliverPendingNotifications))()

    email = world.people["patient"].email
    to_patient = [m for m in smtp_server.messages if email in m.rcpt_tos]
    # One message about the series, none per occurrence.
    assert [m.subject for m in to_patient] == [SUMMARY_SUBJECT]
    text = to_patient[0].text()
    assert "Your series: 3 booked, 1 could not be booked." in text
    assert plan["series_id"] in text
    inbox = await world.get("patient", f"{API}/notifications")
    items = inbox.json()["items"]
    assert [n["type"] for n in items] == ["appointment.series_booked"]
    assert items[0]["metadata"]["series_id"] == plan["series_id"]
    # The doctor still hears of each request, as of any booking (other_patient's too).
    doctor_email = world.people["doctor"].email
    to_doctor = [m for m in smtp_server.messages if doctor_email in m.rcpt_tos]
    assert len(to_doctor) == 3 + 1


async def test_a_series_retried_with_its_key_is_booked_once(world: ClinicWorld) -> None:
    first = await _post(world, key=KEY)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert await _series_count(world) == 4

    again = await _post(world, key=KEY)
    assert again.status_code == 201, again.text
    assert again.content == first.content  # byte for byte
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert await _series_count(world) == 4

    # The same key with another request is refused, and books nothing.
    other = await _post(world, key=KEY, rrule="FREQ=WEEKLY;COUNT=2")
    assert_problem(other, 422, "idempotency-key-reused")
    assert await _series_count(world) == 4


async def test_racing_copies_of_a_keyed_series_book_it_once(world: ClinicWorld) -> None:
    copies = await asyncio.gather(*(_post(world, key=KEY, mode="all_or_nothing") for _ in range(3)))
    assert [c.status_code for c in copies] == [201, 201, 201], [c.text for c in copies]
    assert len({c.content for c in copies}) == 1
    assert sum(c.headers.get("idempotent-replayed") == "true" for c in copies) == 2
    assert await _series_count(world) == 4


async def test_a_refused_series_stores_nothing_and_the_key_may_be_retried(
    world: ClinicWorld,
) -> None:
    taken = await world.booked("other_patient", starts_at=WEDNESDAY_10 + timedelta(weeks=1))
    refused = await _post(world, key=KEY, mode="all_or_nothing")
    assert_problem(refused, 409, "series-does-not-fit")
    cancelled = await world.act("other_patient", taken["id"], "cancel", {"reason": "Away"})
    assert cancelled.status_code == 200, cancelled.text
    retried = await _post(world, key=KEY, mode="all_or_nothing")
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert await _series_count(world) == 4
