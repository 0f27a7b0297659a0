"""End to end: a booking's email notifications go out through the real SMTP sender.

A patient books over the in-memory adapters, the notification handler stores the
pending email and SMS notifications, and ``DeliverPendingNotifications`` delivers
them: first while the mail server is unreachable (the emails stay pending with the
error recorded), then to the real ``smtp_server``."""

from __future__ import annotations

import uuid

from hduce.adapters.email import SmtpEmailSender
from hduce.adapters.memory import InMemoryStore, RecordingSmsSender
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.bootstrap.metrics import MeteredEmailSender, MeteredSmsSender
from hduce.bootstrap.settings import Settings
from hduce.domain.notifications import Channel, DeliveryStatus
from tests.fakes import FixedClock
from tests.services import SmtpServer, free_port
from tests.unit.application.support import NOW, WEDNESDAY, local, seed_clinic

FROM = "HDUCE <no-reply@hduce.example.org>"


def smtp_sender(url: str) -> SmtpEmailSender:
    settings = Settings.from_env({"HDUCE_SMTP_URL": url})
    assert settings.delivery.smtp is not None
    return SmtpEmailSender(settings.delivery.smtp, FROM, timeout=5)


async def test_a_pending_email_is_delivered_over_smtp_and_retried_after_a_failure(
    smtp_server: SmtpServer,
) -> None:
    clock = FixedClock(NOW)
    clinic = await seed_clinic(InMemoryStore(), clock)
    address = f"maria.jose.{uuid.uuid4().hex[:12]}@example.org"
    patient = await clinic.add_patient("María José Núñez", email=address, phone="+593991234567")
    booked = await clinic.book_appointment(
        BookAppointmentCommand(
            actor=patient.actor,
            doctor_id=clinic.people.doctor.id,
            patient_id=None,
            starts_at=local(WEDNESDAY, "10:00"),
            reason="Control de presión arterial",
        )
    )
    [event] = clinic.events_of(booked.id)
    await clinic.handle_notifications(event)
    [pending] = clinic.notifications(recipient_id=patient.id, channel=Channel.EMAIL)
    assert pending.status is DeliveryStatus.PENDING
    sms = RecordingSmsSender(clock=clock)

    # 1. The mail server is down: the emails stay pending, the SMS goes out.
    clock.advance(minutes=1)
    unreachable = f"smtp://127.0.0.1:{free_port()}"
    down = DeliverPendingNotifications(
        clinic.uow_factory, clock, MeteredEmailSender(smtp_sender(unreachable)), sms
    )
    assert await down() == 1
    [failed] = clinic.notifications(id=pending.id)
    assert (failed.status, failed.attempts, failed.sent_at) == (DeliveryStatus.PENDING, 1, None)
    assert failed.last_error is not None
    assert failed.last_error.startswith("SmtpDeliveryFailed: SMTP 127.0.0.1:")
    assert "ConnectionRefusedError" in failed.last_error
    assert [m.to for m in sms.sent] == ["+593991234567"]

    # 2. The next sweep, with the mail server up, delivers them.
    clock.advance(minutes=1)
    up = DeliverPendingNotifications(
        clinic.uow_factory,
        clock,
        MeteredEmailSender(smtp_sender(smtp_server.url)),
        MeteredSmsSender(sms),
    )
    assert await up() == 2  # the patient's email and the doctor's

    mail = await smtp_server.wait_for(lambda m: address in m.rcpt_tos)
    assert mail.rcpt_tos == (address,)
    assert mail.mail_from == "no-reply@hduce.example.org"
    assert str(mail.message["To"]) == address
    assert mail.subject == pending.title
    assert mail.text().replace("\r\n", "\n").rstrip("\n") == pending.message.rstrip("\n")
    [sent] = clinic.notifications(id=pending.id)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == (
        DeliveryStatus.SENT,
        2,
        clock.now(),
        None,
    )
    assert clinic.notifications(status=DeliveryStatus.PENDING) == []
    assert await up() == 0  # nothing is sent twice
    assert len([m for m in smtp_server.messages if address in m.rcpt_tos]) == 1
