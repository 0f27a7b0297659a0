"""The waitlist over HTTP, on SQLite and on PostgreSQL + Redis: a cancelled visit's slot
is offered to the first patient waiting for it (an e-mail as the SMTP server receives
it, and an in-app notification); declining passes it to the next one; accepting books
it; a slot taken meanwhile answers 409 and is not booked twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.domain.identity import Role
from tests.e2e.harness import (
    API,
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

WAITLIST = f"{API}/waitlist"
OFFER_SUBJECT = "A slot from your waitlist is free"


async def _deliver(world: ClinicWorld) -> None:
    """Relay the outbox to the handlers (twice: an offer's own event is relayed after
    the handler that made it committed), then send the e-mails."""
    await world.deliver_events()
    await world.deliver_events()
    await (await world.container.get(DeliverPendingNotifications))()


async def _join(world: ClinicWorld, who: str) -> dict[str, Any]:
    response = await world.client.post(
        WAITLIST,
        json={
            "doctor_id": world.id("doctor"),
            "earliest": iso(WEDNESDAY_10 - timedelta(hours=2)),
            "latest": iso(WEDNESDAY_10 + timedelta(hours=8)),
        },
        headers=await world.auth(who),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _offers(world: ClinicWorld, who: str) -> list[dict[str, Any]]:
    response = await world.get(who, f"{WAITLIST}/offers")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _world(make_client: AppFactory, backend: Backend, smtp: SmtpServer) -> ClinicWorld:
    client = await make_client(
        {"HDUCE_SMTP_URL": smtp.url, "HDUCE_WAITLIST_OFFER_TTL": "30m"},
        backend=backend,
        clock=FixedClock(NOW),
    )
    world = await ClinicWorld.open(client)
    await world.add_user("third_patient", Role.PATIENT)
    return world


def _mails_to(smtp: SmtpServer, world: ClinicWorld, who: str) -> list[Any]:
    email = world.people[who].email
    return [m for m in smtp.messages if email in m.rcpt_tos and m.subject == OFFER_SUBJECT]


async def test_a_cancelled_slot_is_offered_declined_passed_on_and_accepted(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    world = await _world(make_client, backend, smtp_server)
    taken = await world.booked("admin", patient="other_patient", approve=True)
    entry = await _join(world, "patient")
    assert entry["status"] == "waiting"
    world.clock.advance(timedelta(minutes=1))
    await _join(world, "third_patient")
    listed = await world.get("patient", WAITLIST)
    assert [e["id"] for e in listed.json()["items"]] == [entry["id"]]

    cancelled = await world.act("other_patient", taken["id"], "cancel", {"reason": "Away"})
    assert cancelled.status_code == 200, cancelled.text
    await _deliver(world)

    # The first in line is offered the slot: by e-mail and in the app; the second not yet.
    [mail] = _mails_to(smtp_server, world, "patient")
    assert "held for you until" in mail.text()
    assert not _mails_to(smtp_server, world, "third_patient")
    [offer] = await _offers(world, "patient")
    assert offer["status"] == "offered"
    assert offer["starts_at"] == iso(WEDNESDAY_10)
    assert offer["expires_at"] == iso(world.clock.now() + timedelta(minutes=30))
    assert offer["id"] in mail.text()
    inbox = await world.get("patient", f"{API}/notifications")
    [notice] = [n for n in inbox.json()["items"] if n["type"] == "waitlist.offer_made"]
    assert notice["metadata"]["offer_id"] == offer["id"]
    # Nobody else may answer it: someone else's offer is missing.
    stranger = await world.client.post(
        f"{WAITLIST}/offers/{offer['id']}/accept", headers=await world.auth("third_patient")
    )
    assert_problem(stranger, 404, "not-found")

    declined = await world.client.post(
        f"{WAITLIST}/offers/{offer['id']}/decline", headers=await world.auth("patient")
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    await _deliver(world)

    [mail] = _mails_to(smtp_server, world, "third_patient")
    [second] = await _offers(world, "third_patient")
    assert second["id"] in mail.text() and second["status"] == "offered"
    accepted = await world.client.post(
        f"{WAITLIST}/offers/{second['id']}/accept", headers=await world.auth("third_patient")
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "booked"
    appointment = await world.appointment(accepted.json()["appointment_id"])
    assert appointment["patient_id"] == world.id("third_patient")
    assert appointment["starts_at"] == iso(WEDNESDAY_10)
    # Booked: the entry leaves the waitlist, and nobody else is offered the slot.
    assert (await world.get("third_patient", WAITLIST)).json()["items"] == []
    await _deliver(world)
    assert len(_mails_to(smtp_server, world, "patient")) == 1
    again = await world.client.post(
        f"{WAITLIST}/offers/{second['id']}/accept", headers=await world.auth("third_patient")
    )
    assert_problem(again, 422, "business-rule")


async def test_an_offer_whose_slot_was_taken_meanwhile_answers_409_and_books_nothing(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    world = await _world(make_client, backend, smtp_server)
    taken = await world.booked("admin", patient="other_patient", approve=True)
    await _join(world, "patient")
    assert (await world.act("admin", taken["id"], "cancel", {"reason": "Ill"})).status_code == 200
    await _deliver(world)
    [offer] = await _offers(world, "patient")

    # The doctor's desk books the freed slot directly before the patient answers.
    await world.booked("admin", patient="third_patient", approve=True)
    accepted = await world.client.post(
        f"{WAITLIST}/offers/{offer['id']}/accept", headers=await world.auth("patient")
    )
    assert_problem(accepted, 409, "slot-conflict")
    [lapsed] = await _offers(world, "patient")
    assert lapsed["status"] == "lapsed"
    at_ten = [a for a in await world.all_appointments() if a["starts_at"] == iso(WEDNESDAY_10)]
    assert [a["status"] for a in at_ten] == ["cancelled", "approved"] or sorted(
        a["status"] for a in at_ten
    ) == ["approved", "cancelled"]


async def test_an_offer_nobody_answers_expires_and_passes_on(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    from hduce.application.waitlist.offers import ExpireWaitlistOffers

    world = await _world(make_client, backend, smtp_server)
    taken = await world.booked("admin", patient="other_patient", approve=True)
    await _join(world, "patient")
    world.clock.advance(timedelta(minutes=1))
    await _join(world, "third_patient")
    assert (await world.act("admin", taken["id"], "cancel", {"reason": "Ill"})).status_code == 200
    await _deliver(world)
    [offer] = await _offers(world, "patient")

    sweep = await world.container.get(ExpireWaitlistOffers)
    assert await sweep() == 0  # still held
    world.clock.advance(timedelta(minutes=31))
    assert await sweep() == 1
    await _deliver(world)
    [expired] = await _offers(world, "patient")
    assert expired["id"] == offer["id"] and expired["status"] == "expired"
    [passed] = await _offers(world, "third_patient")
    assert passed["status"] == "offered"
    assert len(_mails_to(smtp_server, world, "third_patient")) == 1
    late = await world.client.post(
        f"{WAITLIST}/offers/{offer['id']}/accept", headers=await world.auth("patient")
    )
    assert_problem(late, 422, "business-rule")


async def test_only_patients_keep_a_waitlist_and_windows_are_checked(
    make_client: AppFactory, smtp_server: SmtpServer, embedded: Backend
) -> None:
    world = await _world(make_client, embedded, smtp_server)
    body = {
        "doctor_id": world.id("doctor"),
        "earliest": iso(WEDNESDAY_10),
        "latest": iso(WEDNESDAY_10 - timedelta(hours=1)),
    }
    refused = await world.client.post(WAITLIST, json=body, headers=await world.auth("doctor"))
    assert_problem(refused, 403, "forbidden")
    backwards = await world.client.post(WAITLIST, json=body, headers=await world.auth("patient"))
    assert_problem(backwards, 400, "invalid-input")
    unknown = await world.client.post(
        WAITLIST, json={**body, "surprise": 1}, headers=await world.auth("patient")
    )
    assert unknown.status_code == 400
    entry = await _join(world, "patient")
    left = await world.client.delete(
        f"{WAITLIST}/{entry['id']}", headers=await world.auth("patient")
    )
    assert left.status_code == 204
    assert (await world.get("patient", WAITLIST)).json()["items"] == []
