"""The events codec: every catalogue entry round-trips, the wire format is the one the
outbox rows already hold, and an event that does not fit is refused loudly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hduce.adapters.events_codec import (
    MalformedEvent,
    decode_event,
    encode_event,
    event_from_dict,
    event_to_dict,
)
from hduce.domain import events
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.events import CATALOGUE, DomainEvent, EventPayload
from hduce.domain.identity import Role
from hduce.domain.scheduling import TimeSlot
from tests.unit.domain.builders import ALWAYS_OPEN, CAST, NOW, POLICY, START, book, uid

S = AppointmentStatus
END = START + timedelta(minutes=30)


def _transition(payload_class: type[events.AppointmentTransition], **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "appointment_id": uid(7),
        "patient_id": uid(1),
        "doctor_id": uid(11),
        "starts_at": START,
        "ends_at": END,
        "from_status": S.PENDING,
        "status": S.APPROVED,
        "actor_role": Role.DOCTOR,
        "actor_id": uid(11),
        "reason": None,
        "replaces": None,
    }
    return payload_class(**(fields | changes))


#: One payload per event type, with the optional fields both set and left empty.
SAMPLES: dict[type[EventPayload], EventPayload] = {
    events.AppointmentRequested: _transition(
        events.AppointmentRequested,
        from_status=None,
        status=S.PENDING,
        actor_role=Role.PATIENT,
        series_id=uid(5),
    ),
    events.AppointmentProposed: _transition(
        events.AppointmentProposed, from_status=None, status=S.PROPOSED, actor_role=Role.DOCTOR
    ),
    events.AppointmentApproved: _transition(events.AppointmentApproved),
    events.AppointmentRejected: _transition(
        events.AppointmentRejected, status=S.REJECTED, reason="no referral ✓"
    ),
    events.AppointmentCancelled: _transition(
        events.AppointmentCancelled,
        status=S.CANCELLED,
        actor_role=Role.SYSTEM,
        actor_id=None,
        reason="not answered",
        rescheduled_to=uid(8),
    ),
    events.AppointmentRescheduled: _transition(
        events.AppointmentRescheduled,
        from_status=None,
        starts_at=START + timedelta(microseconds=250),
        replaces=uid(6),
    ),
    events.AppointmentCheckedIn: _transition(
        events.AppointmentCheckedIn, from_status=S.APPROVED, status=S.CHECKED_IN
    ),
    events.AppointmentCompleted: _transition(
        events.AppointmentCompleted, from_status=S.CHECKED_IN, status=S.COMPLETED
    ),
    events.AppointmentNoShow: _transition(
        events.AppointmentNoShow, from_status=S.APPROVED, status=S.NO_SHOW, actor_role=Role.SYSTEM
    ),
    events.AppointmentEnteredInError: _transition(
        events.AppointmentEnteredInError,
        status=S.ENTERED_IN_ERROR,
        actor_role=Role.ADMIN,
        actor_id=uid(21),
        reason="duplicate",
    ),
    events.ReminderDue: events.ReminderDue(
        appointment_id=uid(7),
        patient_id=uid(1),
        doctor_id=uid(11),
        starts_at=START,
        ends_at=END,
        offset_seconds=3600,
        status=S.APPROVED,
    ),
    events.UserRegistered: events.UserRegistered(
        user_id=uid(1),
        email="ana@example.org",
        full_name="Ana Pérez",
        role=Role.PATIENT,
        via="google",
    ),
    events.NewDeviceSignedIn: events.NewDeviceSignedIn(
        user_id=uid(1),
        session_id=uid(2),
        client="Firefox on Linux",
        network="203.0.113.0/24",
        signed_in_at=datetime(2030, 1, 7, 8, 0, tzinfo=UTC),
    ),
    events.PasswordChanged: events.PasswordChanged(
        user_id=uid(1), changed_at=datetime(2030, 1, 7, 8, 0, tzinfo=UTC), sessions_ended=2
    ),
    events.WaitlistOfferMade: events.WaitlistOfferMade(
        offer_id=uid(3),
        entry_id=uid(4),
        patient_id=uid(1),
        doctor_id=uid(2),
        starts_at=START,
        ends_at=END,
        expires_at=datetime(2030, 1, 7, 8, 15, tzinfo=UTC),
    ),
    events.DoctorJoinedInstitution: events.DoctorJoinedInstitution(
        institution_id=uid(5), institution_name="Hospital Norte", doctor_id=uid(2)
    ),
    events.DoctorLeftInstitution: events.DoctorLeftInstitution(
        institution_id=uid(5), institution_name="Hospital Norte", doctor_id=uid(2)
    ),
    events.SeriesBooked: events.SeriesBooked(
        series_id=uid(5),
        patient_id=uid(1),
        doctor_id=uid(2),
        booked=3,
        total=4,
        status=S.PENDING,
        first_starts_at=START,
        last_starts_at=datetime(2030, 1, 29, 9, 0, tzinfo=UTC),
        actor_role=Role.PATIENT,
        actor_id=uid(1),
    ),
}


def _event(payload: EventPayload, correlation_id: str | None = "req-42") -> DomainEvent:
    return DomainEvent(
        id=uid(900),
        occurred_at=NOW,
        aggregate_id=uid(7),
        aggregate_version=3,
        payload=payload,
        correlation_id=correlation_id,
    )


# ------------------------------------------------------------------ round trips


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(CATALOGUE.values())
    assert all(type(payload) is payload_class for payload_class, payload in SAMPLES.items())


@pytest.mark.parametrize("payload_class", list(CATALOGUE.values()), ids=list(CATALOGUE))
@pytest.mark.parametrize("correlation_id", ["req-42", None])
def test_every_catalogue_entry_round_trips(
    payload_class: type[EventPayload], correlation_id: str | None
) -> None:
    event = _event(SAMPLES[payload_class], correlation_id)

    through_json = decode_event(encode_event(event))
    through_a_json_column = event_from_dict(json.loads(json.dumps(event_to_dict(event))))

    for copy_ in (through_json, through_a_json_column):
        assert copy_ == event
        assert type(copy_.payload) is payload_class
        assert copy_.type == payload_class.TYPE


def test_events_recorded_by_the_aggregate_round_trip() -> None:
    old = book(by="patient")
    new = old.reschedule(
        actor=CAST.patient,
        new_slot=TimeSlot.of(START + timedelta(days=1), timedelta(minutes=30)),
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=[],
    )
    recorded = old.collect_events() + new.collect_events()
    assert [e.type for e in recorded] == [
        events.APPOINTMENT_REQUESTED,
        events.APPOINTMENT_CANCELLED,
        events.APPOINTMENT_RESCHEDULED,
    ]
    for event in recorded:
        assert decode_event(encode_event(event)) == event


# ------------------------------------------------------------------ the wire format


def test_the_wire_format_is_the_one_outbox_rows_already_hold() -> None:
    # Written out by hand, as the outbox stored it before payloads were typed.
    assert event_to_dict(_event(SAMPLES[events.AppointmentCancelled])) == {
        "id": "00000000-0000-0000-0000-000000000384",
        "type": "appointment.cancelled",
        "occurred_at": "2026-01-12T08:00:00+00:00",
        "aggregate_id": "00000000-0000-0000-0000-000000000007",
        "aggregate_version": 3,
        "correlation_id": "req-42",
        "payload": {
            "appointment_id": "00000000-0000-0000-0000-000000000007",
            "patient_id": "00000000-0000-0000-0000-000000000001",
            "doctor_id": "00000000-0000-0000-0000-00000000000b",
            "starts_at": "2026-01-14T10:00:00+00:00",
            "ends_at": "2026-01-14T10:30:00+00:00",
            "from_status": "pending",
            "status": "cancelled",
            "actor_role": "system",
            "actor_id": None,
            "reason": "not answered",
            "replaces": None,
            "rescheduled_to": "00000000-0000-0000-0000-000000000008",
        },
    }
    assert event_to_dict(_event(SAMPLES[events.ReminderDue]))["payload"] == {
        "appointment_id": "00000000-0000-0000-0000-000000000007",
        "patient_id": "00000000-0000-0000-0000-000000000001",
        "doctor_id": "00000000-0000-0000-0000-00000000000b",
        "starts_at": "2026-01-14T10:00:00+00:00",
        "ends_at": "2026-01-14T10:30:00+00:00",
        "offset_seconds": 3600,
        "status": "approved",
    }
    assert event_to_dict(_event(SAMPLES[events.UserRegistered]))["payload"] == {
        "user_id": "00000000-0000-0000-0000-000000000001",
        "email": "ana@example.org",
        "full_name": "Ana Pérez",
        "role": "patient",
        "via": "google",
    }


def test_rescheduled_to_is_written_only_when_set() -> None:
    plain = _transition(events.AppointmentCancelled, status=S.CANCELLED, reason="sick")
    written = event_to_dict(_event(plain))["payload"]
    assert "rescheduled_to" not in written
    assert set(written) == set(
        event_to_dict(_event(SAMPLES[events.AppointmentApproved]))["payload"]
    )
    assert event_from_dict(event_to_dict(_event(plain))).payload == plain


def test_keys_a_reader_does_not_know_are_ignored() -> None:
    event = _event(SAMPLES[events.ReminderDue])
    data = event_to_dict(event)
    data["payload"]["lead"] = "24h"  # e.g. written by a newer version
    data["schema"] = 2
    assert event_from_dict(data) == event


# ------------------------------------------------------------------ refusals


def _wire(**payload_changes: Any) -> dict[str, Any]:
    data = event_to_dict(_event(SAMPLES[events.ReminderDue]))
    data["payload"].update(payload_changes)
    return data


def _without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    del target[last]
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            _wire() | {"type": "appointment.teleported"},
            r"event 00000000-0000-0000-0000-000000000384: unknown event type "
            r"'appointment.teleported'",
            id="unknown-type",
        ),
        pytest.param(
            _without(_wire(), "payload", "patient_id"),
            r"\(reminder.due\) payload: Object missing required field `patient_id`",
            id="missing-field",
        ),
        pytest.param(
            _wire(offset_seconds="soon"),
            r"payload: Expected `int`, got `str` - at `\$.offset_seconds`",
            id="wrong-type",
        ),
        pytest.param(_wire(offset_seconds=True), r"Expected `int`, got `bool`", id="bool-as-int"),
        pytest.param(_wire(status="lost"), r"Invalid enum value 'lost'", id="unknown-status"),
        pytest.param(_wire(doctor_id="42"), r"Invalid UUID - at `\$.doctor_id`", id="bad-uuid"),
        pytest.param(
            _wire(starts_at="2026-01-14T10:00:00"),
            r"starts_at must be timezone-aware",
            id="naive-payload-time",
        ),
        pytest.param(
            _wire() | {"occurred_at": "2026-01-12T08:00:00"},
            r"occurred_at must be timezone-aware",
            id="naive-occurred-at",
        ),
        pytest.param(
            _without(_wire(), "id"),
            r"event envelope: Object missing required field `id`",
            id="no-id",
        ),
        pytest.param(_without(_wire(), "type"), r"missing required field `type`", id="no-type"),
        pytest.param(
            _wire() | {"payload": []}, r"Expected `object`, got `array`", id="payload-not-object"
        ),
        pytest.param(["not", "an", "event"], r"event envelope: Expected `object`", id="list"),
    ],
)
def test_malformed_events_are_refused(data: object, message: str) -> None:
    with pytest.raises(MalformedEvent, match=message):
        event_from_dict(data)


def test_malformed_json_is_refused() -> None:
    with pytest.raises(MalformedEvent, match="not valid JSON"):
        decode_event(b'{"id": ')
    assert issubclass(MalformedEvent, ValueError)
