"""Notifications: events become stored messages (once), pending ones are delivered
with retries, and each person reads their own in-app inbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hduce.adapters.memory import RecordingEmailSender, RecordingSmsSender
from hduce.application.appointments.commands import RescheduleCommand, TransitionCommand
from hduce.application.notifications.delivery import DELIVERY_LEASE, DeliverPendingNotifications
from hduce.application.notifications.inbox import NotificationInbox
from hduce.domain import events
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Actor
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel, DeliveryStatus, Notification
from tests.unit.application.support import WEDNESDAY, Clinic, local

SENT, PENDING, FAILED = DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.FAILED


async def requested(clinic: Clinic) -> DomainEvent:
    """The patient books; returns the appointment.requested event from the outbox."""
    booked = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    [event] = clinic.events_of(booked.id)
    assert event.type == events.APPOINTMENT_REQUESTED
    return event


def summary(notifications: list[Notification]) -> set[tuple[str, Channel, DeliveryStatus]]:
    return {(n.title, n.channel, n.status) for n in notifications}


# ------------------------------------------------------------------ handling events


async def test_a_request_notifies_patient_and_doctor_on_every_channel_they_have(
    clinic: Clinic,
) -> None:
    event = await requested(clinic)

    stored = await clinic.handle_notifications(event)

    patient, doctor = clinic.people.patient, clinic.people.doctor
    title = "Appointment request submitted"
    assert summary(clinic.notifications(recipient_id=patient.id)) == {
        (title, Channel.IN_APP, SENT),
        (title, Channel.EMAIL, PENDING),
        (title, Channel.SMS, PENDING),  # the patient has a phone number
    }
    assert summary(clinic.notifications(recipient_id=doctor.id)) == {
        ("New appointment request", Channel.IN_APP, SENT),
        ("New appointment request", Channel.EMAIL, PENDING),  # no phone: no SMS
    }
    assert {n.id for n in stored} == set(clinic.store.notifications)
    assert all(n.type == events.APPOINTMENT_REQUESTED for n in stored)
    assert all(n.metadata["event_id"] == str(event.id) for n in stored)


async def test_times_are_shown_on_the_recipients_wall_clock(clinic: Clinic) -> None:
    await clinic.handle_notifications(await requested(clinic))

    [in_app] = clinic.notifications(recipient_id=clinic.people.patient.id, channel=Channel.IN_APP)

    assert "Dora Doctor" in in_app.message
    assert "Wed 09 Jan 2030 at 10:00 (Europe/Madrid)" in in_app.message


async def test_the_same_event_twice_stores_nothing_more(clinic: Clinic) -> None:
    event = await requested(clinic)
    first = await clinic.handle_notifications(event)
    before = clinic.snapshot()

    second = await clinic.handle_notifications(event)

    assert len(first) == 5
    assert second == []
    assert clinic.snapshot().notifications == before.notifications


async def test_in_app_notifications_are_pushed_live_to_their_recipient_only(
    clinic: Clinic,
) -> None:
    event = await requested(clinic)
    people = clinic.people
    streams = {
        name: clinic.realtime.subscribe(getattr(people, name).id)
        for name in ("patient", "doctor", "other_patient")
    }
    for stream in streams.values():
        stream.open()

    await clinic.handle_notifications(event)
    await clinic.handle_notifications(event)  # a redelivery pushes nothing either

    patient_message = await streams["patient"].get(timeout=0.1)
    doctor_message = await streams["doctor"].get(timeout=0.1)
    assert patient_message is not None
    assert doctor_message is not None
    assert patient_message["title"] == "Appointment request submitted"
    assert doctor_message["title"] == "New appointment request"
    assert await streams["patient"].get(timeout=0.01) is None
    assert await streams["doctor"].get(timeout=0.01) is None
    assert await streams["other_patient"].get(timeout=0.01) is None
    for stream in streams.values():
        stream.close()


async def test_a_cancellation_by_the_patient_notifies_only_the_doctor(clinic: Clinic) -> None:
    booked = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    await clinic.cancel(TransitionCommand(clinic.actor("patient"), booked.id, reason="better"))
    [cancelled] = clinic.events(events.APPOINTMENT_CANCELLED)

    stored = await clinic.handle_notifications(cancelled)

    assert {n.recipient_id for n in stored} == {clinic.people.doctor.id}
    assert {n.title for n in stored} == {"Appointment cancelled"}
    [in_app] = [n for n in stored if n.channel is Channel.IN_APP]
    assert "cancelled by the patient" in in_app.message
    assert "Reason: better." in in_app.message


async def test_a_visit_proposed_by_the_doctor_asks_only_the_patient(clinic: Clinic) -> None:
    # A doctor's booking is a proposal now (it used to be approved at once).
    booked = await clinic.book("doctor", patient="patient", starts_at=local(WEDNESDAY, "10:00"))
    [proposed] = clinic.events_of(booked.id)

    stored = await clinic.handle_notifications(proposed)

    assert {n.recipient_id for n in stored} == {clinic.people.patient.id}
    assert {n.title for n in stored} == {"Appointment proposed"}


async def test_the_patients_answer_tells_only_the_doctor(clinic: Clinic) -> None:
    booked = await clinic.book("doctor", patient="patient", starts_at=local(WEDNESDAY, "10:00"))
    await clinic.accept(TransitionCommand(clinic.actor("patient"), booked.id))
    accepted = clinic.events_of(booked.id)[-1]

    stored = await clinic.handle_notifications(accepted)

    assert {n.recipient_id for n in stored} == {clinic.people.doctor.id}
    assert {n.title for n in stored} == {"Appointment confirmed"}


async def test_a_visit_booked_approved_by_an_admin_tells_only_the_patient(clinic: Clinic) -> None:
    booked = await clinic.book(
        "admin", patient="patient", starts_at=local(WEDNESDAY, "10:00"), approve=True
    )
    [approved] = clinic.events_of(booked.id)

    stored = await clinic.handle_notifications(approved)

    assert {n.recipient_id for n in stored} == {clinic.people.patient.id}
    assert {n.title for n in stored} == {"Appointment approved"}


async def test_a_reschedule_tells_both_parties_the_new_time_once(clinic: Clinic) -> None:
    old = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    await clinic.reschedule(
        RescheduleCommand(clinic.actor("patient"), old.id, starts_at=local(WEDNESDAY, "12:00"))
    )
    cancelled, rescheduled = clinic.events()[-2:]

    quiet = await clinic.handle_notifications(cancelled)
    told = await clinic.handle_notifications(rescheduled)

    assert quiet == []  # the old one's "cancelled (rescheduled)" is not news of its own
    in_app = {n.recipient_id: n for n in told if n.channel is Channel.IN_APP}
    assert set(in_app) == {clinic.people.patient.id, clinic.people.doctor.id}
    assert all(n.title == "Appointment rescheduled" for n in in_app.values())
    assert all("at 12:00 (Europe/Madrid)" in n.message for n in in_app.values())


# ------------------------------------------------------------------ delivery


@pytest.fixture
def email(clinic: Clinic) -> RecordingEmailSender:
    return RecordingEmailSender(clock=clinic.clock)


@pytest.fixture
def sms(clinic: Clinic) -> RecordingSmsSender:
    return RecordingSmsSender(clock=clinic.clock)


def deliverer(
    clinic: Clinic, email: RecordingEmailSender, sms: RecordingSmsSender, max_attempts: int = 5
) -> DeliverPendingNotifications:
    return DeliverPendingNotifications(
        clinic.uow_factory, clinic.clock, email, sms, max_attempts=max_attempts
    )


async def test_pending_email_and_sms_are_sent_and_marked_sent(
    clinic: Clinic, email: RecordingEmailSender, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))
    clinic.clock.advance(minutes=1)

    sent = await deliverer(clinic, email, sms)()

    assert sent == 3
    people = clinic.people
    assert [m.subject for m in email.to(people.patient.email)] == ["Appointment request submitted"]
    assert [m.subject for m in email.to(people.doctor.email)] == ["New appointment request"]
    assert [m.to for m in sms.sent] == ["+34600111222"]
    delivered = clinic.notifications(status=SENT)
    assert len(delivered) == 5  # 3 delivered now + 2 in-app, delivered on storing
    outbound = [n for n in delivered if n.channel is not Channel.IN_APP]
    assert all(n.sent_at == clinic.clock.now() and n.attempts == 1 for n in outbound)
    assert clinic.notifications(status=PENDING) == []
    assert await deliverer(clinic, email, sms)() == 0  # nothing left to send


async def test_a_drain_sweeps_until_the_backlog_is_gone_within_its_bound(
    clinic: Clinic, email: RecordingEmailSender, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))  # 3 outbound messages
    deliver = deliverer(clinic, email, sms)

    assert await deliver.drain(batch_size=1, max_batches=2) == 2
    assert len(clinic.notifications(status=PENDING)) == 1

    assert await deliver.drain(batch_size=1, max_batches=20) == 1
    assert clinic.notifications(status=PENDING) == []
    assert len(email.sent) + len(sms.sent) == 3


async def test_a_drain_stops_at_a_batch_with_a_failed_send(
    clinic: Clinic, email: RecordingEmailSender, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))
    email.fail_next(1)

    sent = await deliverer(clinic, email, sms).drain(batch_size=3, max_batches=20)

    # The first batch came back short: no second sweep retried the failure at once
    # (it would have, as the next test shows); it waits for a later tick.
    assert sent == 2
    [waiting] = clinic.notifications(status=PENDING)
    assert waiting.channel is Channel.EMAIL


async def test_a_failed_send_stays_pending_and_goes_out_on_the_next_run(
    clinic: Clinic, email: RecordingEmailSender, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))
    email.fail_next(1)
    deliver = deliverer(clinic, email, sms)

    assert await deliver() == 2

    [waiting] = clinic.notifications(status=PENDING)
    assert waiting.channel is Channel.EMAIL
    assert waiting.attempts == 1
    assert waiting.last_error is not None
    assert "DeliveryFailed" in waiting.last_error
    assert len(email.sent) == 1

    assert await deliver() == 1

    assert clinic.store.notifications[waiting.id].status is SENT
    assert clinic.store.notifications[waiting.id].attempts == 2
    assert len(email.sent) == 2
    assert len(sms.sent) == 1  # the SMS went out once, on the first run


async def test_after_max_attempts_a_notification_is_failed_for_good(
    clinic: Clinic, email: RecordingEmailSender, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))
    email.fail_next(100)
    deliver = deliverer(clinic, email, sms, max_attempts=3)

    for _ in range(3):
        await deliver()
    await deliver()  # a fourth run leaves failed ones alone

    emails = clinic.notifications(channel=Channel.EMAIL)
    assert len(emails) == 2
    assert {(n.status, n.attempts) for n in emails} == {(FAILED, 3)}
    assert list(email.sent) == []
    assert [n.status for n in clinic.notifications(channel=Channel.SMS)] == [SENT]


# ------------------------------------------------------------------ several workers


class SlowEmail(RecordingEmailSender):
    """Takes its time: yields to the loop, and moves the clock by ``clock_step`` minutes."""

    def __init__(self, clinic: Clinic, *, clock_step: float = 0) -> None:
        super().__init__(clock=clinic.clock)
        self._clinic = clinic
        self._clock_step = clock_step

    async def send(self, *, to: str, subject: str, body: str) -> None:
        await asyncio.sleep(0.001)
        await super().send(to=to, subject=subject, body=body)
        self._clinic.clock.advance(minutes=self._clock_step)


class Stuck:
    """An email and SMS sender whose first send never returns."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, *, to: str, body: str, subject: str = "") -> None:
        self.started.set()
        await asyncio.Event().wait()


async def test_concurrent_sweeps_send_each_message_once(
    clinic: Clinic, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))
    email = SlowEmail(clinic)
    sweeps = [deliverer(clinic, email, sms) for _ in range(3)]

    counts = await asyncio.gather(*(sweep(batch_size=1) for sweep in sweeps))
    counts += await asyncio.gather(*(sweep(batch_size=1) for sweep in sweeps))

    assert sum(counts) == 3
    assert sorted(m.to for m in email.sent) == sorted(
        [clinic.people.patient.email, clinic.people.doctor.email]
    )
    assert len(sms.sent) == 1
    assert {(n.status, n.attempts) for n in clinic.notifications(status=SENT)} == {(SENT, 1)}


async def test_a_dead_workers_claim_runs_out_and_another_sends_once(
    clinic: Clinic, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))
    stuck = Stuck()
    dying = asyncio.create_task(
        DeliverPendingNotifications(clinic.uow_factory, clinic.clock, stuck, stuck)()
    )
    await stuck.started.wait()
    dying.cancel()  # the worker dies mid-send, holding its claim on the whole batch
    with pytest.raises(asyncio.CancelledError):
        await dying
    email = RecordingEmailSender(clock=clinic.clock)
    other = deliverer(clinic, email, sms)

    assert await other() == 0  # claimed by the dead worker: nobody may send them yet
    clinic.clock.advance(DELIVERY_LEASE)
    assert await other() == 3

    assert len(email.sent) == 2 and len(sms.sent) == 1
    outbound = [n for n in clinic.notifications() if n.channel is not Channel.IN_APP]
    # The dead worker's attempt counted: it may have reached the provider.
    assert {(n.status, n.attempts, n.claimed_by) for n in outbound} == {(SENT, 2, None)}


class SlowSms(RecordingSmsSender):
    def __init__(self, clinic: Clinic, *, clock_step: float) -> None:
        super().__init__(clock=clinic.clock)
        self._clinic = clinic
        self._clock_step = clock_step

    async def send(self, *, to: str, body: str) -> None:
        await super().send(to=to, body=body)
        self._clinic.clock.advance(minutes=self._clock_step)


async def test_a_message_left_too_little_lease_is_handed_back_untried(clinic: Clinic) -> None:
    await clinic.handle_notifications(await requested(clinic))
    # Every send takes 2.5 of the lease's 5 minutes; one may take up to 1 minute.
    deliver = DeliverPendingNotifications(
        clinic.uow_factory,
        clinic.clock,
        SlowEmail(clinic, clock_step=2.5),
        SlowSms(clinic, clock_step=2.5),
        lease=timedelta(minutes=5),
        send_allowance=timedelta(minutes=1),
    )

    # Sent at +0 and +2.5; at +5 the third would outlive the claim, so it goes back.
    assert await deliver() == 2

    [left] = clinic.notifications(status=PENDING)
    assert (left.attempts, left.claimed_by, left.claimed_until, left.last_error) == (
        0,  # never tried: the attempt does not count
        None,
        None,
        None,
    )
    assert await deliver() == 1
    assert clinic.notifications(status=PENDING) == []


async def test_a_message_whose_workers_kept_dying_is_given_up_unsent(
    clinic: Clinic, email: RecordingEmailSender, sms: RecordingSmsSender
) -> None:
    await clinic.handle_notifications(await requested(clinic))
    for _ in range(3):  # three workers claimed the batch and died before recording
        async with clinic.uow_factory(serialized=True) as uow:
            await uow.notifications.claim_pending(
                owner=uuid7(), now=clinic.clock.now(), lease=DELIVERY_LEASE, limit=10
            )
            await uow.commit()
        clinic.clock.advance(DELIVERY_LEASE)

    assert await deliverer(clinic, email, sms, max_attempts=3)() == 0

    assert list(email.sent) == [] and list(sms.sent) == []
    outbound = [n for n in clinic.notifications() if n.channel is not Channel.IN_APP]
    assert {(n.status, n.attempts) for n in outbound} == {(FAILED, 4)}
    assert all(n.last_error == "no outcome recorded for 3 attempts" for n in outbound)


def test_the_lease_must_outlast_one_send(clinic: Clinic) -> None:
    with pytest.raises(ValueError, match="lease"):
        DeliverPendingNotifications(
            clinic.uow_factory,
            clinic.clock,
            RecordingEmailSender(),
            RecordingSmsSender(),
            lease=timedelta(minutes=1),
            send_allowance=timedelta(minutes=1),
        )


# ------------------------------------------------------------------ the inbox


@pytest.fixture
def inbox(clinic: Clinic) -> NotificationInbox:
    return NotificationInbox(clinic.uow_factory, clinic.clock)


async def two_in_app_for_the_patient(clinic: Clinic) -> tuple[Notification, Notification]:
    """The patient's "request submitted" and, a minute later, "approved" (newest)."""
    booked = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    await clinic.approve(TransitionCommand(clinic.actor("doctor"), booked.id))
    first, second = clinic.events_of(booked.id)
    await clinic.handle_notifications(first)
    clinic.clock.advance(minutes=1)
    await clinic.handle_notifications(second)
    mine = clinic.notifications(recipient_id=clinic.people.patient.id, channel=Channel.IN_APP)
    older, newer = sorted(mine, key=lambda n: n.created_at)
    return older, newer


async def test_the_inbox_lists_in_app_notifications_newest_first(
    clinic: Clinic, inbox: NotificationInbox
) -> None:
    older, newer = await two_in_app_for_the_patient(clinic)

    page = await inbox.list(clinic.actor("patient"))

    assert [n.id for n in page.items] == [newer.id, older.id]
    assert [n.title for n in page.items] == [
        "Appointment approved",
        "Appointment request submitted",
    ]
    assert page.total == 2


async def test_reading_one_and_then_all(clinic: Clinic, inbox: NotificationInbox) -> None:
    older, newer = await two_in_app_for_the_patient(clinic)
    patient = clinic.actor("patient")
    assert await inbox.unread_count(patient) == 2

    read = await inbox.mark_read(patient, newer.id)

    assert read.read_at == clinic.clock.now()
    assert await inbox.unread_count(patient) == 1
    unread = await inbox.list(patient, unread_only=True)
    assert [n.id for n in unread.items] == [older.id]

    assert await inbox.mark_all_read(patient) == 1
    assert await inbox.unread_count(patient) == 0
    assert (await inbox.list(patient, unread_only=True)).items == []
    assert await inbox.mark_all_read(patient) == 0


async def test_deleting_a_notification(clinic: Clinic, inbox: NotificationInbox) -> None:
    older, newer = await two_in_app_for_the_patient(clinic)
    patient = clinic.actor("patient")

    await inbox.delete(patient, older.id)

    assert [n.id for n in (await inbox.list(patient)).items] == [newer.id]
    assert older.id not in clinic.store.notifications


async def test_someone_elses_notification_is_not_found(
    clinic: Clinic, inbox: NotificationInbox
) -> None:
    older, _ = await two_in_app_for_the_patient(clinic)
    intruder = clinic.actor("other_patient")

    with pytest.raises(NotFound):
        await inbox.mark_read(intruder, older.id)
    with pytest.raises(NotFound):
        await inbox.delete(intruder, older.id)

    assert clinic.store.notifications[older.id].read_at is None
    assert (await inbox.list(intruder)).items == []
    assert await inbox.unread_count(clinic.actor("patient")) == 2


async def test_the_system_has_no_inbox(clinic: Clinic, inbox: NotificationInbox) -> None:
    with pytest.raises(PermissionDenied):
        await inbox.list(Actor.system())
