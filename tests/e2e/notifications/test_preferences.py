"""``/notifications/preferences`` over HTTP on both backends, with the real pipeline
(outbox relay, notification handler, delivery to the SMTP fixture): turning one kind
off on one channel stops exactly those messages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.domain.notifications import OPTIONAL_KINDS
from tests.e2e.harness import (
    NOTIFICATIONS,
    NOW,
    WEDNESDAY_10,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
)
from tests.fakes import FixedClock
from tests.services import SmtpServer

PREFERENCES = f"{NOTIFICATIONS}/preferences"


@pytest.fixture
async def mailed_world(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> ClinicWorld:
    client = await make_client(
        {"HDUCE_SMTP_URL": smtp_server.url}, backend=backend, clock=FixedClock(NOW)
    )
    return await ClinicWorld.open(client)


async def deliver(world: ClinicWorld) -> None:
    """What a worker does: relay the outbox to the notification handler, send the emails."""
    await world.deliver_events()
    await (await world.container.get(DeliverPendingNotifications))()


def subjects(smtp_server: SmtpServer, email: str) -> list[str]:
    return sorted(m.subject for m in smtp_server.messages if email in m.rcpt_tos)


async def in_app_types(world: ClinicWorld, who: str) -> list[str]:
    response = await world.get(who, NOTIFICATIONS)
    return sorted(n["type"] for n in response.json()["items"])


async def test_email_off_for_one_kind_stops_those_emails_only(
    mailed_world: ClinicWorld, smtp_server: SmtpServer
) -> None:
    world = mailed_world
    response = await world.client.patch(
        PREFERENCES,
        json={"kinds": {"appointment.approved": {"email": False}}},
        headers=await world.auth("patient"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["kinds"]["appointment.approved"] == {
        "in_app": True,
        "email": False,
        "sms": True,
    }
    # Both patients book and are approved; only ``patient`` turned that email off.
    for who, start in (
        ("patient", WEDNESDAY_10),
        ("other_patient", WEDNESDAY_10 + timedelta(hours=1)),
    ):
        booked = await world.booked(who, starts_at=start)
        approved = await world.act("doctor", booked["id"], "approve")
        assert approved.status_code == 200, approved.text
    await deliver(world)

    mine = subjects(smtp_server, world.people["patient"].email)
    theirs = subjects(smtp_server, world.people["other_patient"].email)
    assert theirs == ["Appointment approved", "Appointment request submitted"]
    assert mine == ["Appointment request submitted"]
    # In-app still arrives for both.
    for who in ("patient", "other_patient"):
        assert await in_app_types(world, who) == ["appointment.approved", "appointment.requested"]


async def test_in_app_off_for_one_kind(mailed_world: ClinicWorld, smtp_server: SmtpServer) -> None:
    world = mailed_world
    response = await world.client.patch(
        PREFERENCES,
        json={"kinds": {"appointment.requested": {"in_app": False}}},
        headers=await world.auth("patient"),
    )
    assert response.status_code == 200, response.text
    booked = await world.booked("patient")
    await world.act("doctor", booked["id"], "approve")
    await deliver(world)

    assert await in_app_types(world, "patient") == ["appointment.approved"]
    assert subjects(smtp_server, world.people["patient"].email) == [
        "Appointment approved",
        "Appointment request submitted",
    ]
    # The doctor's own preferences are untouched.
    assert await in_app_types(world, "doctor") == ["appointment.requested"]


async def test_preferences_are_kept_per_person_and_switched_back_on(world: ClinicWorld) -> None:
    headers = await world.auth("patient")
    initial = (await world.client.get(PREFERENCES, headers=headers)).json()
    assert set(initial["kinds"]) == OPTIONAL_KINDS
    assert all(all(states.values()) for states in initial["kinds"].values())
    assert initial["always_sent"]

    off = {"reminder.due": {"sms": False, "email": False}}
    await world.client.patch(PREFERENCES, json={"kinds": off}, headers=headers)
    kept = (await world.client.get(PREFERENCES, headers=headers)).json()
    assert kept["kinds"]["reminder.due"] == {"in_app": True, "email": False, "sms": False}
    other = (await world.client.get(PREFERENCES, headers=await world.auth("other_patient"))).json()
    assert other == initial

    on = {"reminder.due": {"email": True}}
    back = await world.client.patch(PREFERENCES, json={"kinds": on}, headers=headers)
    assert back.json()["kinds"]["reminder.due"] == {
        "in_app": True,
        "email": True,
        "sms": False,
    }


async def test_security_notices_and_unknown_kinds_cannot_be_turned_off(
    world: ClinicWorld,
) -> None:
    headers = await world.auth("patient")
    initial = (await world.client.get(PREFERENCES, headers=headers)).json()
    for kind in [*initial["always_sent"], "appointment.exploded"]:
        response = await world.client.patch(
            PREFERENCES, json={"kinds": {kind: {"email": False}}}, headers=headers
        )
        assert_problem(response, 400, "invalid-input")
    response = await world.client.patch(
        PREFERENCES, json={"kinds": {"appointment.approved": {"fax": False}}}, headers=headers
    )
    assert_problem(response, 400, "invalid-request")
    assert (await world.client.get(PREFERENCES, headers=headers)).json() == initial
    assert_problem(await world.client.get(PREFERENCES), 401, "unauthenticated")
