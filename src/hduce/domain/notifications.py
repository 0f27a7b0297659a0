"""Who is told what (docs/architecture.md, "The event flow") and the notification record.

``plan_notifications`` is a pure function from one event to the intents it causes.
Rendering the text is pure too, with times shown in the recipient's timezone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.domain import events
from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.errors import BusinessRuleViolation, InvalidInput
from hduce.domain.events import (
    AppointmentApproved,
    AppointmentCancelled,
    AppointmentPayload,
    AppointmentRejected,
    AppointmentTransition,
    DoctorJoinedInstitution,
    DoctorLeftInstitution,
    DomainEvent,
    NewDeviceSignedIn,
    PasswordChanged,
    SeriesBooked,
    WaitlistOfferMade,
)


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the policy needs to know of a person to reach them."""

    user_id: UUID
    full_name: str
    timezone: str = "UTC"
    email: str | None = None
    phone: str | None = None
    email_opt_out: bool = False
    sms_opt_out: bool = False
    #: The (channel, event kind) pairs turned off, as ``opt_out_key`` spells them.
    opt_outs: frozenset[str] = frozenset()

    def channels(self, kind: str | None = None) -> list[Channel]:
        """Where news of ``kind`` (an event type) reaches this person: in-app, and email
        and SMS when they have an address and a number and did not opt out of the
        channel; minus the channels they turned off for ``kind``."""
        chosen = [Channel.IN_APP]
        if self.email and not self.email_opt_out:
            chosen.append(Channel.EMAIL)
        if self.phone and not self.sms_opt_out:
            chosen.append(Channel.SMS)
        if kind is None:
            return chosen
        return [channel for channel in chosen if opt_out_key(channel, kind) not in self.opt_outs]


def opt_out_key(channel: Channel, kind: str) -> str:
    """How one turned-off (channel, kind) pair is stored: ``"email:appointment.approved"``."""
    return f"{channel.value}:{kind}"


class Template(StrEnum):
    REQUEST_SUBMITTED = "request_submitted"
    NEW_REQUEST = "new_request"
    PROPOSED = "proposed"
    PROPOSAL_ACCEPTED = "proposal_accepted"
    PROPOSAL_DECLINED = "proposal_declined"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    PATIENT_ARRIVED = "patient_arrived"
    COMPLETED = "completed"
    MISSED = "missed"
    REMINDER = "reminder"
    NEW_DEVICE_SIGN_IN = "new_device_sign_in"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a template name
    WAITLIST_OFFER = "waitlist_offer"
    INSTITUTION_JOINED = "institution_joined"
    INSTITUTION_LEFT = "institution_left"
    SERIES_BOOKED = "series_booked"


@dataclass(frozen=True, slots=True)
class NotificationIntent:
    event_id: UUID
    event_type: str
    recipient: Recipient
    channel: Channel
    template: Template
    params: Mapping[str, Any]

    @property
    def dedupe_key(self) -> str:
        """One notification per event, recipient and channel, however often it is replayed."""
        return f"{self.event_id}:{self.recipient.user_id}:{self.channel}"


@dataclass(frozen=True, slots=True)
class Parties:
    patient: Recipient
    doctor: Recipient


_PATIENT, _DOCTOR = "patient", "doctor"

# event type -> (template for the patient, template for the doctor); None = not told.
_POLICY: dict[str, tuple[Template | None, Template | None]] = {
    events.APPOINTMENT_REQUESTED: (Template.REQUEST_SUBMITTED, Template.NEW_REQUEST),
    # The doctor who proposed knows it; the patient is asked to accept or decline.
    events.APPOINTMENT_PROPOSED: (Template.PROPOSED, None),
    events.APPOINTMENT_APPROVED: (Template.APPROVED, None),
    events.APPOINTMENT_REJECTED: (Template.REJECTED, None),
    events.APPOINTMENT_CANCELLED: (Template.CANCELLED, Template.CANCELLED),
    events.APPOINTMENT_RESCHEDULED: (Template.RESCHEDULED, Template.RESCHEDULED),
    events.APPOINTMENT_CHECKED_IN: (None, Template.PATIENT_ARRIVED),
    events.APPOINTMENT_COMPLETED: (Template.COMPLETED, None),
    events.APPOINTMENT_NO_SHOW: (Template.MISSED, None),
    events.REMINDER_DUE: (Template.REMINDER, None),
}


# Security notices about one's own account: event type -> (template, channels). They
# go to the account's owner whatever their opt-outs (those are for appointment news):
# an owner who did not do it must learn of it. Never by SMS.
_ACCOUNT_POLICY: dict[str, tuple[Template, tuple[Channel, ...]]] = {
    events.NEW_DEVICE_SIGNED_IN: (Template.NEW_DEVICE_SIGN_IN, (Channel.IN_APP, Channel.EMAIL)),
    events.PASSWORD_CHANGED: (Template.PASSWORD_CHANGED, (Channel.EMAIL,)),
}

# Personal news of one person (a waitlist offer to its patient): event type -> template.
# Unlike security notices these honour the person's opt-outs (``Recipient.channels``).
_PERSONAL_POLICY: dict[str, Template] = {
    events.WAITLIST_OFFER_MADE: Template.WAITLIST_OFFER,
    # Where a doctor works decides where their patients will meet them (ADR 0025).
    events.DOCTOR_INSTITUTION_JOINED: Template.INSTITUTION_JOINED,
    events.DOCTOR_INSTITUTION_LEFT: Template.INSTITUTION_LEFT,
    # One summary of a booked series, instead of one message per occurrence.
    events.SERIES_BOOKED: Template.SERIES_BOOKED,
}
#: The kinds of news a person may turn off, channel by channel: the appointment events
#: and personal news (a waitlist offer).
#: The security notices of ``_ACCOUNT_POLICY`` are not among them: they always go out.
OPTIONAL_KINDS: frozenset[str] = frozenset(_POLICY) | frozenset(_PERSONAL_POLICY)


def checked_opt_outs(pairs: Iterable[tuple[str, str]]) -> frozenset[str]:
    """``opt_out_key`` of each (channel, kind) pair, refused unless the channel exists
    and the kind is one a person may turn off."""
    keys = set()
    for channel, kind in pairs:
        if kind not in OPTIONAL_KINDS:
            raise InvalidInput(
                f"{kind!r} is not a kind of notification that can be turned off", field="kinds"
            )
        try:
            keys.add(opt_out_key(Channel(channel), kind))
        except ValueError:
            raise InvalidInput(f"no channel {channel!r}", field="kinds") from None
    return frozenset(keys)


#: Every event type the policy tells someone about (consumers must route these here).
NOTIFYING_EVENT_TYPES: frozenset[str] = (
    frozenset(_POLICY) | frozenset(_ACCOUNT_POLICY) | frozenset(_PERSONAL_POLICY)
)
#: The events with one recipient, ``account_owner(event)``: security notices and
#: personal news.
ACCOUNT_EVENT_TYPES: frozenset[str] = frozenset(_ACCOUNT_POLICY) | frozenset(_PERSONAL_POLICY)


def account_owner(event: DomainEvent) -> UUID | None:
    """Whose account a security notice or personal news is about (None for others)."""
    payload = event.payload
    if isinstance(payload, NewDeviceSignedIn | PasswordChanged):
        return payload.user_id
    if isinstance(payload, WaitlistOfferMade | SeriesBooked):
        return payload.patient_id
    if isinstance(payload, DoctorJoinedInstitution | DoctorLeftInstitution):
        return payload.doctor_id
    return None


def plan_account_notifications(event: DomainEvent, owner: Recipient) -> list[NotificationIntent]:
    """The notices an account event causes: its owner, on the channels of the policy
    (email only when the account has an address)."""
    if account_owner(event) != owner.user_id:
        return []
    personal = _PERSONAL_POLICY.get(event.type)
    rule = (
        (personal, tuple(owner.channels(event.type)))
        if personal
        else _ACCOUNT_POLICY.get(event.type)
    )
    if rule is None:
        return []
    template, channels = rule
    params = _account_params(event)
    return [
        NotificationIntent(event.id, event.type, owner, channel, template, params)
        for channel in channels
        if channel is not Channel.EMAIL or owner.email
    ]


def _account_params(event: DomainEvent) -> dict[str, Any]:
    payload = event.payload
    if isinstance(payload, NewDeviceSignedIn):
        return {
            "session_id": payload.session_id,
            "client": payload.client,
            "network": payload.network,
            "at": payload.signed_in_at,
        }
    if isinstance(payload, PasswordChanged):
        return {"at": payload.changed_at, "sessions_ended": payload.sessions_ended}
    if isinstance(payload, WaitlistOfferMade):
        return {"at": payload.starts_at, "until": payload.expires_at, "offer_id": payload.offer_id}
    if isinstance(payload, DoctorJoinedInstitution | DoctorLeftInstitution):
        return {"institution_id": payload.institution_id, "institution": payload.institution_name}
    if isinstance(payload, SeriesBooked):
        return {
            "at": payload.first_starts_at,
            "until": payload.last_starts_at,
            "series_id": payload.series_id,
            "booked": payload.booked,
            "total": payload.total,
            "status": payload.status,
        }
    return {}


def render_account_notice(intent: NotificationIntent) -> RenderedMessage:
    """Title and text of a security notice, times in the owner's timezone."""
    params = intent.params
    when = _local_time(params.get("at"), intent.recipient.timezone)
    if intent.template is Template.NEW_DEVICE_SIGN_IN:
        network = params.get("network")
        where = f" from the network {network}" if network else ""
        return RenderedMessage(
            "New sign-in to your account",
            f"Your account was signed in to on {when} with {params['client']}{where}. "
            "If it was you, there is nothing to do. If not, change your password and end "
            "that session under your account's sessions.",
        )
    if intent.template is Template.PASSWORD_CHANGED:
        ended = int(params.get("sessions_ended") or 0)
        others = (
            f" {ended} other session{'s' if ended != 1 else ''} {'were' if ended != 1 else 'was'}"
            " signed out."
            if ended
            else ""
        )
        return RenderedMessage(
            "Your password was changed",
            f"The password of your account was changed on {when}.{others} If you did not "
            "change it, contact the clinic at once.",
        )
    if intent.template is Template.WAITLIST_OFFER:
        until = _local_time(params.get("until"), intent.recipient.timezone)
        return RenderedMessage(
            "A slot from your waitlist is free",
            f"An appointment on {when} is free and held for you until {until}. "
            f"Accept or decline offer {params['offer_id']} in the app "
            "(POST /api/v1/waitlist/offers/{id}/accept or /decline).",
        )
    if intent.template is Template.INSTITUTION_JOINED:
        return RenderedMessage(
            f"You now work at {params['institution']}",
            f"An admin added you to {params['institution']}. Set your working hours there "
            "(PUT /api/v1/doctors/{id}/working-hours with its institution_id) so that "
            "patients can book you at it.",
        )
    if intent.template is Template.INSTITUTION_LEFT:
        return RenderedMessage(
            f"You no longer work at {params['institution']}",
            f"An admin removed you from {params['institution']}. Appointments already "
            "booked there stay as they are.",
        )
    if intent.template is Template.SERIES_BOOKED:
        return _series_summary(intent, when)
    raise ValueError(f"{intent.template} is not an account notice")


def _series_summary(intent: NotificationIntent, first: str) -> RenderedMessage:
    params = intent.params
    booked, total = int(params["booked"]), int(params["total"])
    missed = total - booked
    last = _local_time(params.get("until"), intent.recipient.timezone)
    visits = f"{booked} appointment{'s' if booked != 1 else ''}"
    status = AppointmentStatus(params["status"])
    state = {
        AppointmentStatus.PENDING: " (requested: the doctor confirms each one)",
        AppointmentStatus.PROPOSED: " (proposed by the doctor: accept or decline them)",
    }.get(status, "")
    refused = (
        f" {missed} could not be booked (see the series for why)."
        if missed
        else " Every occurrence was booked."
    )
    return RenderedMessage(
        "Your appointment series",
        f"Your series: {booked} booked, {missed} could not be booked. {visits}{state}, "
        f"from {first} to {last}.{refused} Series {params['series_id']} "
        "(GET /api/v1/appointments/series/{id}).",
    )


def plan_notifications(event: DomainEvent, parties: Parties) -> list[NotificationIntent]:
    """The notifications an event causes: every channel the recipient can be reached on."""
    templates = _POLICY.get(event.type)
    payload = event.payload
    if templates is None or not isinstance(payload, AppointmentPayload):
        return []
    if isinstance(payload, AppointmentCancelled) and payload.rescheduled_to:
        return []  # the replacement's "rescheduled" event tells both parties the new time
    # An occurrence of a series: the patient hears once, from the series' summary
    # (``SeriesBooked``); the doctor as of any booking.
    of_series = isinstance(payload, events.BookingPayload) and payload.series_id is not None
    if isinstance(payload, AppointmentApproved) and payload.from_status is None:
        # Booked straight into APPROVED by an admin: the patient hears of it; the
        # doctor sees it on their calendar.
        templates = (Template.APPROVED, None)
    # Whoever cancelled, accepted or declined knows it already: only the other side hears.
    actor_knows: UUID | None = None
    if isinstance(payload, AppointmentTransition):
        answer = _ANSWERS.get(type(payload))
        if answer is not None and payload.from_status is AppointmentStatus.PROPOSED:
            # The patient (or an admin for them) accepted or declined a proposal.
            templates = (answer, answer)
            actor_knows = payload.actor_id
        elif isinstance(payload, AppointmentCancelled):
            actor_knows = payload.actor_id
    intents: list[NotificationIntent] = []
    for side, template, recipient in (
        (_PATIENT, templates[0], parties.patient),
        (_DOCTOR, templates[1], parties.doctor),
    ):
        if template is None or (actor_knows is not None and actor_knows == recipient.user_id):
            continue
        if of_series and side == _PATIENT:
            continue
        params = _params(payload, side)
        intents.extend(
            NotificationIntent(event.id, event.type, recipient, channel, template, params)
            for channel in recipient.channels(event.type)
        )
    return intents


#: The answer to a proposal, by the event it records.
_ANSWERS: dict[type[AppointmentPayload], Template] = {
    AppointmentApproved: Template.PROPOSAL_ACCEPTED,
    AppointmentRejected: Template.PROPOSAL_DECLINED,
}


def _params(payload: AppointmentPayload, side: str) -> dict[str, Any]:
    change = payload if isinstance(payload, AppointmentTransition) else None
    return {
        "side": side,
        "appointment_id": payload.appointment_id,
        "starts_at": payload.starts_at,
        "ends_at": payload.ends_at,
        "reason": change.reason if change else None,
        "actor_role": change.actor_role if change else None,
        "replaces": change.replaces if change else None,
    }


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    title: str
    body: str


#: The patient's messages that confirm a visit: they carry its check-in code.
CONFIRMING_TEMPLATES = frozenset({Template.APPROVED, Template.PROPOSAL_ACCEPTED, Template.REMINDER})
#: The events whose notifications may confirm a visit (the handler reads the code).
CONFIRMING_EVENT_TYPES = frozenset({events.APPOINTMENT_APPROVED, events.REMINDER_DUE})


#: Template -> (title, body), the body's fields being ``other`` (the other party),
#: ``when``, ``because`` (" Reason: ..." or "") and ``by`` (who did it): a render
#: formats only its own template's text.
_TEXTS: Final[dict[Template, tuple[str, str]]] = {
    Template.REQUEST_SUBMITTED: (
        "Appointment request submitted",
        "Your request to see {other} on {when} was sent and awaits approval.",
    ),
    Template.NEW_REQUEST: ("New appointment request", "{other} asks for an appointment on {when}."),
    Template.PROPOSED: (
        "Appointment proposed",
        "{other} proposes an appointment on {when}. Accept or decline it in the app.",
    ),
    Template.PROPOSAL_ACCEPTED: (
        "Appointment confirmed",
        "The appointment with {other} on {when} was accepted by the {by}.",
    ),
    Template.PROPOSAL_DECLINED: (
        "Appointment declined",
        "The appointment proposed with {other} on {when} was declined by the {by}.{because}",
    ),
    Template.APPROVED: (
        "Appointment approved",
        "Your appointment with {other} on {when} is confirmed.",
    ),
    Template.REJECTED: ("Appointment rejected", "Your request for {when} was declined.{because}"),
    Template.CANCELLED: (
        "Appointment cancelled",
        "The appointment with {other} on {when} was cancelled by the {by}.{because}",
    ),
    Template.RESCHEDULED: (
        "Appointment rescheduled",
        "The appointment with {other} moved to {when}.",
    ),
    Template.PATIENT_ARRIVED: ("Patient arrived", "{other} has checked in for {when}."),
    Template.COMPLETED: ("Visit completed", "Your visit with {other} on {when} is complete."),
    Template.MISSED: ("Missed appointment", "You missed your appointment with {other} on {when}."),
    Template.REMINDER: ("Appointment reminder", "Reminder: you see {other} on {when}."),
}


def render(
    intent: NotificationIntent, parties: Parties, *, check_in_code: str | None = None
) -> RenderedMessage:
    """Title and text in the recipient's own timezone. Plain text, short enough for SMS.

    A patient's confirmation or reminder ends with the visit's ``check_in_code`` (typed
    or scanned at the kiosk on arrival, ADR 0013) when there is one."""
    params = intent.params
    when = _local_time(params.get("starts_at"), intent.recipient.timezone)
    other = parties.doctor.full_name if params["side"] == _PATIENT else parties.patient.full_name
    reason = params.get("reason")
    because = f" Reason: {reason}." if reason else ""
    by = params.get("actor_role") or "someone"
    title, text = _TEXTS[intent.template]
    body = text.format(other=other, when=when, because=because, by=by)
    if check_in_code and params["side"] == _PATIENT and intent.template in CONFIRMING_TEMPLATES:
        body += f" Check-in code: {check_in_code} (at the kiosk on arrival)."
    return RenderedMessage(title, body)


def _local_time(instant: object, timezone: str) -> str:
    if not isinstance(instant, datetime):
        return "the scheduled time"
    return _formatted_local_time(instant, timezone)


@functools.lru_cache(maxsize=256)
def _formatted_local_time(instant: datetime, timezone: str) -> str:
    """Cached: an event's messages show the same time to each recipient on every
    channel (four renders of one instant per booking)."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local:%a %d %b %Y at %H:%M} ({timezone})"


@dataclass(slots=True, eq=False)
class Notification:
    """One message to one person on one channel, and what became of it."""

    id: UUID
    recipient_id: UUID
    type: str
    title: str
    message: str
    channel: Channel
    created_at: datetime
    dedupe_key: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    read_at: datetime | None = None
    sent_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The delivery worker sending it right now, and until when that claim holds.
    claimed_by: UUID | None = None
    claimed_until: datetime | None = None
    #: The W3C trace context of the handler that stored it, when tracing is on: the
    #: delivery sweep sends it as part of that trace.
    trace_context: Mapping[str, str] | None = field(default=None, compare=False)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def mark_read(self, now: datetime) -> None:
        if self.read_at is None:
            self.read_at = now

    def mark_unread(self) -> None:
        """Back to unread (to deal with later); marking it read again records a new time."""
        self.read_at = None

    def is_claimable(self, now: datetime) -> bool:
        """An email or SMS still to send that no live claim holds."""
        return (
            self.status is DeliveryStatus.PENDING
            and self.channel is not Channel.IN_APP
            and (self.claimed_until is None or self.claimed_until <= now)
        )

    def claim(self, owner: UUID, until: datetime) -> None:
        """Start an attempt: ``owner`` alone may send it until ``until``.

        The attempt counts from here, before the send, so one whose outcome is never
        recorded (the worker died after sending) still counts towards giving up."""
        if self.status is not DeliveryStatus.PENDING or self.channel is Channel.IN_APP:
            raise BusinessRuleViolation("only an email or SMS still to send can be claimed")
        self.attempts += 1
        self.claimed_by = owner
        self.claimed_until = until

    def release(self) -> None:
        """Give the claim back unused: no send was tried, so the attempt does not count."""
        if self.claimed_by is not None:
            self.attempts -= 1
            self._end_claim()

    def mark_sent(self, now: datetime) -> None:
        self._count_attempt()
        self.status = DeliveryStatus.SENT
        self.sent_at = now
        self.last_error = None
        self._end_claim()

    def mark_failed(self, error: str, *, give_up: bool) -> None:
        """Record a failed attempt; it stays PENDING for a retry unless we give up."""
        if self.status is DeliveryStatus.SENT:
            raise BusinessRuleViolation("a sent notification cannot fail afterwards")
        self._count_attempt()
        self.last_error = error[:500]
        self.status = DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING
        self._end_claim()

    def _count_attempt(self) -> None:
        # A claimed attempt was counted when it was claimed.
        if self.claimed_by is None:
            self.attempts += 1

    def _end_claim(self) -> None:
        self.claimed_by = None
        self.claimed_until = None
