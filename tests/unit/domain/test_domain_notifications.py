"""Notification policy (docs/architecture.md): who is told, with which template, on which channels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from hduce.domain import events
from hduce.domain.appointments import Appointment
from hduce.domain.errors import BusinessRuleViolation
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Role
from hduce.domain.notifications import (
    ACCOUNT_EVENT_TYPES,
    Channel,
    DeliveryStatus,
    Notification,
    NotificationIntent,
    Parties,
    Recipient,
    Template,
    plan_notifications,
    render,
)
from hduce.domain.scheduling import TimeSlot
from tests.unit.domain.builders import (
    ALWAYS_OPEN,
    CAST,
    NOW,
    POLICY,
    START,
    VISIT,
    S,
    appointment_in,
    book,
    uid,
)

PATIENT = Recipient(
    uid(1), "Ana Pérez", "Europe/Madrid", email="ana@example.org", phone="+34600111222"
)
DOCTOR = Recipient(uid(11), "Dr. John Smith", "America/New_York", email="smith@example.org")
PARTIES = Parties(patient=PATIENT, doctor=DOCTOR)


# ------------------------------------------------------------------ events, made the real way


def _only(appointment: Appointment) -> DomainEvent:
    [event] = appointment.collect_events()
    return event


def requested() -> DomainEvent:
    return _only(book(by="patient"))


def approved() -> DomainEvent:
    a = appointment_in(S.PENDING)
    a.approve(actor=CAST.doctor, now=NOW, existing=[])
    return _only(a)


def booked_approved() -> DomainEvent:
    return _only(book(by="admin", approve=True))


def proposed() -> DomainEvent:
    return _only(book(by="doctor"))


def answered_by(name: str, *, accept: bool) -> Callable[[], DomainEvent]:
    """A doctor's proposal accepted or declined by ``name`` (the patient, an admin)."""

    def make() -> DomainEvent:
        a = appointment_in(S.PROPOSED)
        if accept:
            a.accept(actor=CAST[name], now=NOW)
        else:
            a.decline(actor=CAST[name], now=NOW, reason="away that week")
        return _only(a)

    return make


def rejected() -> DomainEvent:
    a = appointment_in(S.PENDING)
    a.reject(actor=CAST.doctor, now=NOW, reason="no referral")
    return _only(a)


def cancelled_by(name: str, status: S = S.APPROVED) -> Callable[[], DomainEvent]:
    def make() -> DomainEvent:
        a = appointment_in(status)
        now = START if name == "system" else NOW  # the system only expires unanswered requests
        a.cancel(actor=CAST[name], now=now, reason="stuck in traffic", policy=POLICY)
        return _only(a)

    return make


def rescheduled_pair() -> tuple[DomainEvent, DomainEvent]:
    """(the old appointment's cancellation, the replacement's "rescheduled" event)."""
    old = appointment_in(S.APPROVED)
    new = old.reschedule(
        actor=CAST.patient,
        new_slot=TimeSlot.of(START + timedelta(days=1), VISIT),
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=[],
    )
    return _only(old), _only(new)


def checked_in() -> DomainEvent:
    a = appointment_in(S.APPROVED)
    a.check_in(actor=CAST.doctor, now=START, policy=POLICY)
    return _only(a)


def completed() -> DomainEvent:
    a = appointment_in(S.CHECKED_IN)
    a.complete(actor=CAST.doctor, now=START + timedelta(minutes=25))
    return _only(a)


def no_show() -> DomainEvent:
    a = appointment_in(S.APPROVED)
    a.mark_no_show(actor=CAST.system, now=START + timedelta(hours=1), policy=POLICY)
    return _only(a)


def entered_in_error() -> DomainEvent:
    a = appointment_in(S.APPROVED)
    a.enter_in_error(actor=CAST.admin, now=NOW, reason="duplicate")
    return _only(a)


def reminder_due() -> DomainEvent:
    visit = approved().payload
    assert isinstance(visit, events.AppointmentApproved)
    return DomainEvent(
        occurred_at=START - timedelta(hours=24),
        aggregate_id=visit.appointment_id,
        aggregate_version=2,
        payload=events.ReminderDue(
            appointment_id=visit.appointment_id,
            patient_id=visit.patient_id,
            doctor_id=visit.doctor_id,
            starts_at=visit.starts_at,
            ends_at=visit.ends_at,
            offset_seconds=24 * 3600,
            status=visit.status,
        ),
    )


def user_registered() -> DomainEvent:
    return DomainEvent(
        occurred_at=NOW,
        aggregate_id=uid(1),
        aggregate_version=1,
        payload=events.UserRegistered(
            user_id=uid(1),
            email="ana@example.org",
            full_name="Ana Pérez",
            role=Role.PATIENT,
            via="password",
        ),
    )


# ------------------------------------------------------------------ the table

T = Template
POLICY_TABLE = [
    # (event factory, template for the patient, template for the doctor); None = not told
    pytest.param(requested, T.REQUEST_SUBMITTED, T.NEW_REQUEST, id="requested"),
    pytest.param(approved, T.APPROVED, None, id="approved"),
    pytest.param(booked_approved, T.APPROVED, None, id="approved-at-booking"),
    # A proposal: the patient is asked; whoever answers it knows the answer already.
    pytest.param(proposed, T.PROPOSED, None, id="proposed"),
    pytest.param(
        answered_by("patient", accept=True), None, T.PROPOSAL_ACCEPTED, id="accepted-by-patient"
    ),
    pytest.param(
        answered_by("admin", accept=True),
        T.PROPOSAL_ACCEPTED,
        T.PROPOSAL_ACCEPTED,
        id="accepted-by-admin",
    ),
    pytest.param(
        answered_by("patient", accept=False), None, T.PROPOSAL_DECLINED, id="declined-by-patient"
    ),
    pytest.param(
        answered_by("admin", accept=False),
        T.PROPOSAL_DECLINED,
        T.PROPOSAL_DECLINED,
        id="declined-by-admin",
    ),
    pytest.param(cancelled_by("doctor", S.PROPOSED), T.CANCELLED, None, id="proposal-withdrawn"),
    pytest.param(
        cancelled_by("system", S.PROPOSED), T.CANCELLED, T.CANCELLED, id="proposal-expired"
    ),
    pytest.param(rejected, T.REJECTED, None, id="rejected"),
    pytest.param(cancelled_by("patient"), None, T.CANCELLED, id="cancelled-by-patient"),
    pytest.param(cancelled_by("doctor"), T.CANCELLED, None, id="cancelled-by-doctor"),
    pytest.param(cancelled_by("admin"), T.CANCELLED, T.CANCELLED, id="cancelled-by-admin"),
    pytest.param(
        cancelled_by("system", S.PENDING), T.CANCELLED, T.CANCELLED, id="cancelled-by-system"
    ),
    pytest.param(lambda: rescheduled_pair()[1], T.RESCHEDULED, T.RESCHEDULED, id="rescheduled"),
    pytest.param(lambda: rescheduled_pair()[0], None, None, id="cancelled-by-rescheduling"),
    pytest.param(checked_in, None, T.PATIENT_ARRIVED, id="checked-in"),
    pytest.param(completed, T.COMPLETED, None, id="completed"),
    pytest.param(no_show, T.MISSED, None, id="no-show"),
    pytest.param(reminder_due, T.REMINDER, None, id="reminder-due"),
    pytest.param(entered_in_error, None, None, id="entered-in-error"),
    pytest.param(user_registered, None, None, id="user-registered"),
]


def _templates_by_recipient(intents: list[NotificationIntent]) -> dict[str, set[Template]]:
    told: dict[str, set[Template]] = {}
    for intent in intents:
        side = "patient" if intent.recipient == PATIENT else "doctor"
        told.setdefault(side, set()).add(intent.template)
    return told


@pytest.mark.parametrize(("make_event", "to_patient", "to_doctor"), POLICY_TABLE)
def test_policy_table(
    make_event: Callable[[], DomainEvent], to_patient: Template | None, to_doctor: Template | None
) -> None:
    event = make_event()

    intents = plan_notifications(event, PARTIES)

    expected: dict[str, set[Template]] = {}
    if to_patient:
        expected["patient"] = {to_patient}
    if to_doctor:
        expected["doctor"] = {to_doctor}
    assert _templates_by_recipient(intents) == expected
    for intent in intents:
        assert intent.event_id == event.id
        assert intent.event_type == event.type
        assert intent.params["side"] == ("patient" if intent.recipient == PATIENT else "doctor")
    # Each recipient is reached on exactly the channels they can be reached on.
    for recipient in (PATIENT, DOCTOR):
        channels = [i.channel for i in intents if i.recipient == recipient]
        assert channels == (recipient.channels() if channels else [])
    # Replays produce the same keys, and no two intents share one.
    keys = [i.dedupe_key for i in intents]
    assert len(set(keys)) == len(keys)
    assert keys == [i.dedupe_key for i in plan_notifications(event, PARTIES)]


def test_the_table_covers_every_appointment_event_type() -> None:
    made = {
        make().type
        for make in (
            requested,
            proposed,
            approved,
            rejected,
            cancelled_by("admin"),
            lambda: rescheduled_pair()[1],
            checked_in,
            completed,
            no_show,
            entered_in_error,
            reminder_due,
            user_registered,
        )
    }
    # The account notices (a new device, a changed password) have their own tests:
    # tests/unit/domain/test_account_notices.py.
    assert made == events.EVENT_TYPES - ACCOUNT_EVENT_TYPES


# ------------------------------------------------------------------ channels


@pytest.mark.parametrize(
    ("email", "phone", "email_opt_out", "sms_opt_out", "channels"),
    [
        (None, None, False, False, [Channel.IN_APP]),
        ("a@b.org", None, False, False, [Channel.IN_APP, Channel.EMAIL]),
        (None, "+34600111222", False, False, [Channel.IN_APP, Channel.SMS]),
        ("a@b.org", "+34600111222", False, False, [Channel.IN_APP, Channel.EMAIL, Channel.SMS]),
        ("a@b.org", "+34600111222", True, False, [Channel.IN_APP, Channel.SMS]),
        ("a@b.org", "+34600111222", False, True, [Channel.IN_APP, Channel.EMAIL]),
        ("a@b.org", "+34600111222", True, True, [Channel.IN_APP]),
        (None, None, True, True, [Channel.IN_APP]),  # in-app cannot be opted out of
    ],
)
def test_channels_follow_addresses_and_opt_outs(
    email: str | None,
    phone: str | None,
    email_opt_out: bool,
    sms_opt_out: bool,
    channels: list[Channel],
) -> None:
    patient = Recipient(
        uid(1),
        "Ana",
        email=email,
        phone=phone,
        email_opt_out=email_opt_out,
        sms_opt_out=sms_opt_out,
    )
    intents = plan_notifications(approved(), Parties(patient, DOCTOR))
    assert [i.channel for i in intents] == channels
    assert all(i.recipient == patient and i.template is T.APPROVED for i in intents)


# ------------------------------------------------------------------ rendering


def _intent_for(event: DomainEvent, recipient: Recipient, parties: Parties) -> NotificationIntent:
    [intent] = [
        i
        for i in plan_notifications(event, parties)
        if i.recipient == recipient and i.channel is Channel.IN_APP
    ]
    return intent


def test_times_are_shown_in_the_recipients_timezone_in_winter() -> None:
    nine_utc = TimeSlot.of(datetime(2026, 1, 14, 9, 0, tzinfo=UTC), VISIT)
    event = _only(book(by="patient", slot=nine_utc))

    to_patient = render(_intent_for(event, PATIENT, PARTIES), PARTIES)
    to_doctor = render(_intent_for(event, DOCTOR, PARTIES), PARTIES)

    assert "Wed 14 Jan 2026 at 10:00 (Europe/Madrid)" in to_patient.body
    assert "Dr. John Smith" in to_patient.body
    assert "Wed 14 Jan 2026 at 04:00 (America/New_York)" in to_doctor.body
    assert "Ana Pérez" in to_doctor.body
    assert "09:00" not in to_patient.body + to_doctor.body


def test_times_are_shown_in_the_recipients_timezone_in_summer() -> None:
    nine_utc = TimeSlot.of(datetime(2026, 7, 1, 9, 0, tzinfo=UTC), VISIT)
    event = _only(
        book(by="admin", approve=True, slot=nine_utc, now=datetime(2026, 6, 29, tzinfo=UTC))
    )
    message = render(_intent_for(event, PATIENT, PARTIES), PARTIES)
    assert "at 11:00 (Europe/Madrid)" in message.body
    assert message.title == "Appointment approved"


def test_a_utc_recipient_sees_utc() -> None:
    patient = Recipient(uid(1), "Ana")
    parties = Parties(patient, DOCTOR)
    event = _only(book(by="patient", slot=TimeSlot.of(datetime(2026, 1, 14, 9, tzinfo=UTC), VISIT)))
    assert "at 09:00 (UTC)" in render(_intent_for(event, patient, parties), parties).body


def test_a_proposal_asks_the_patient_and_the_answer_tells_the_doctor() -> None:
    asked = render(_intent_for(proposed(), PATIENT, PARTIES), PARTIES)
    assert asked.title == "Appointment proposed"
    assert "Dr. John Smith proposes an appointment on" in asked.body
    assert "Accept or decline" in asked.body
    accepted = answered_by("patient", accept=True)()
    told = render(_intent_for(accepted, DOCTOR, PARTIES), PARTIES)
    assert "Ana Pérez" in told.body and "accepted by the patient" in told.body
    declined = render(_intent_for(answered_by("patient", accept=False)(), DOCTOR, PARTIES), PARTIES)
    assert "declined by the patient" in declined.body
    assert "Reason: away that week." in declined.body


def test_rejection_tells_the_reason() -> None:
    message = render(_intent_for(rejected(), PATIENT, PARTIES), PARTIES)
    assert message.title == "Appointment rejected"
    assert "Reason: no referral." in message.body


def test_cancellation_tells_who_cancelled_and_why() -> None:
    message = render(_intent_for(cancelled_by("doctor")(), PATIENT, PARTIES), PARTIES)
    assert "cancelled by the doctor" in message.body
    assert "Reason: stuck in traffic." in message.body
    system = render(_intent_for(cancelled_by("system", S.PENDING)(), DOCTOR, PARTIES), PARTIES)
    assert "cancelled by the system" in system.body


def test_reschedule_shows_the_new_time() -> None:
    _, moved = rescheduled_pair()
    message = render(_intent_for(moved, PATIENT, PARTIES), PARTIES)
    # 2026-01-15 10:00Z is 11:00 in Madrid.
    assert "moved to Thu 15 Jan 2026 at 11:00 (Europe/Madrid)" in message.body


@pytest.mark.parametrize(("make_event", "to_patient", "to_doctor"), POLICY_TABLE)
def test_every_message_renders_short_plain_text(
    make_event: Callable[[], DomainEvent], to_patient: Template | None, to_doctor: Template | None
) -> None:
    for intent in plan_notifications(make_event(), PARTIES):
        message = render(intent, PARTIES)
        assert message.title and message.body
        assert "{" not in message.body and "None" not in message.body
        assert len(message.body) <= 320  # two SMS segments at most


# ------------------------------------------------------------------ the notification record


def notification() -> Notification:
    return Notification(
        id=uid(500),
        recipient_id=uid(1),
        type=events.APPOINTMENT_APPROVED,
        title="Appointment approved",
        message="…",
        channel=Channel.EMAIL,
        created_at=NOW,
        dedupe_key="k",
    )


def test_a_new_notification_is_pending_and_unread() -> None:
    n = notification()
    assert (n.status, n.attempts, n.is_read, n.sent_at) == (DeliveryStatus.PENDING, 0, False, None)


def test_a_failed_attempt_stays_pending_for_a_retry() -> None:
    n = notification()
    n.mark_failed("smtp timeout", give_up=False)
    assert (n.status, n.attempts, n.last_error) == (DeliveryStatus.PENDING, 1, "smtp timeout")
    n.mark_failed("x" * 1000, give_up=True)
    assert (n.status, n.attempts) == (DeliveryStatus.FAILED, 2)
    assert n.last_error == "x" * 500


def test_sending_after_a_failure_clears_the_error() -> None:
    n = notification()
    n.mark_failed("smtp timeout", give_up=False)
    sent_at = NOW + timedelta(minutes=1)
    n.mark_sent(sent_at)
    assert (n.status, n.attempts, n.sent_at, n.last_error) == (
        DeliveryStatus.SENT,
        2,
        sent_at,
        None,
    )


def test_a_sent_notification_cannot_fail_afterwards() -> None:
    n = notification()
    n.mark_sent(NOW)
    with pytest.raises(BusinessRuleViolation):
        n.mark_failed("late bounce", give_up=True)
    assert (n.status, n.attempts, n.last_error) == (DeliveryStatus.SENT, 1, None)


def test_a_claim_counts_the_attempt_before_the_send_and_the_outcome_ends_it() -> None:
    n = notification()
    until = NOW + timedelta(minutes=5)
    assert n.is_claimable(NOW)
    n.claim(uid(900), until)
    assert (n.attempts, n.claimed_by, n.claimed_until) == (1, uid(900), until)
    assert not n.is_claimable(NOW)
    assert n.is_claimable(until)  # a claim nobody finished runs out
    n.mark_failed("smtp timeout", give_up=False)
    assert (n.status, n.attempts, n.claimed_by, n.claimed_until) == (
        DeliveryStatus.PENDING,
        1,  # counted once, at the claim
        None,
        None,
    )
    n.claim(uid(901), until)
    n.mark_sent(NOW)
    assert (n.status, n.attempts, n.claimed_by, n.claimed_until) == (
        DeliveryStatus.SENT,
        2,
        None,
        None,
    )
    assert not n.is_claimable(until)


def test_a_released_claim_does_not_count() -> None:
    n = notification()
    n.claim(uid(900), NOW + timedelta(minutes=5))
    n.release()
    assert (n.attempts, n.claimed_by, n.claimed_until) == (0, None, None)
    assert n.is_claimable(NOW)
    n.release()  # nothing to give back
    assert n.attempts == 0


def test_only_an_email_or_sms_still_to_send_can_be_claimed() -> None:
    in_app = notification()
    in_app.channel = Channel.IN_APP
    sent = notification()
    sent.mark_sent(NOW)
    for n in (in_app, sent):
        assert not n.is_claimable(NOW)
        with pytest.raises(BusinessRuleViolation):
            n.claim(uid(900), NOW + timedelta(minutes=5))


def test_reading_is_recorded_once() -> None:
    n = notification()
    n.mark_read(NOW)
    n.mark_read(NOW + timedelta(hours=1))
    assert n.is_read and n.read_at == NOW
