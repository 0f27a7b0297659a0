"""The check-in code reaches the patient: in the approval email (received by the local
SMTP server) and in the in-app notification, as it is on the appointment."""

from __future__ import annotations

from hduce.application.notifications.delivery import DeliverPendingNotifications
from tests.e2e.harness import NOTIFICATIONS, NOW, AppFactory, Backend, ClinicWorld
from tests.fakes import FixedClock
from tests.services import SmtpServer


async def test_the_approval_email_carries_the_check_in_code(
    make_client: AppFactory, backend: Backend, smtp_server: SmtpServer
) -> None:
    client = await make_client(
        backend=backend, clock=FixedClock(NOW), env={"HDUCE_SMTP_URL": smtp_server.url}
    )
    world = await ClinicWorld.open(client)
    booked = await world.booked("patient")
    assert (await world.act("doctor", booked["id"], "approve")).status_code == 200
    code = (await world.appointment(booked["id"], who="patient"))["check_in_code"]

    await world.deliver_events()
    await (await world.container.get(DeliverPendingNotifications)).drain()
    patient = world.people["patient"].email
    mail = await smtp_server.wait_for(
        lambda m: patient in m.rcpt_tos and m.subject == "Appointment approved"
    )
    assert f"Check-in code: {code}" in mail.text()

    inbox = (await world.get("patient", NOTIFICATIONS)).json()["items"]
    [approved] = [n for n in inbox if n["title"] == "Appointment approved"]
    assert code in approved["message"]
    # The doctor's messages never carry it (the doctor checks the patient in by id).
    doctor_inbox = (await world.get("doctor", NOTIFICATIONS)).json()["items"]
    assert all(code not in n["message"] for n in doctor_inbox)
