"""Event catalogue and envelope, UUIDv7 ids and the TimeSlot value object.

(The wire format of events is tested with its codec, tests/unit/adapters/test_events_codec.py.)"""

from __future__ import annotations

import dataclasses
import time
import types
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hduce.domain import events, ids
from hduce.domain.errors import InvalidInput
from hduce.domain.events import DomainEvent
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot
from tests.unit.domain.builders import NOW, book, uid

# ------------------------------------------------------------------ UUIDv7


def _millis(value: uuid.UUID) -> int:
    return value.int >> 80


def test_uuid7_layout() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= _millis(value) <= after + 1


def test_uuid7_sort_in_generation_order() -> None:
    generated = [uuid7() for _ in range(10_000)]
    assert len(set(generated)) == len(generated)
    assert generated == sorted(generated)
    assert [str(v) for v in generated] == sorted(str(v) for v in generated)  # as text too
    assert all(v.version == 7 and v.variant == uuid.RFC_4122 for v in generated)


def test_uuid7_stays_ordered_when_the_clock_stands_still(monkeypatch: pytest.MonkeyPatch) -> None:
    # 5,000 ids in one millisecond overflow the 12-bit counter: the generator must borrow
    # the next millisecond rather than wrap around.
    frozen_ms = (time.time_ns() // 1_000_000) + 10_000
    monkeypatch.setattr(ids, "time", types.SimpleNamespace(time_ns=lambda: frozen_ms * 1_000_000))
    monkeypatch.setattr(ids, "_last_ms", ids._last_ms)
    monkeypatch.setattr(ids, "_counter", ids._counter)

    generated = [uuid7() for _ in range(5_000)]

    assert generated == sorted(set(generated))
    assert _millis(generated[0]) == frozen_ms
    assert _millis(generated[-1]) > frozen_ms  # borrowed ahead


def test_uuid7_stays_ordered_when_the_clock_goes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # The wall clock may step back (NTP); ids must keep increasing all the same.
    readings_ms = iter([2_000_000, 2_000_000, 1_999_000, 1_999_500, 2_000_001])
    monkeypatch.setattr(
        ids, "time", types.SimpleNamespace(time_ns=lambda: next(readings_ms) * 1_000_000)
    )
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)

    generated = [uuid7() for _ in range(5)]

    assert generated == sorted(set(generated))


# ------------------------------------------------------------------ events


def _requested() -> events.AppointmentRequested:
    [event] = book(by="patient").collect_events()
    assert isinstance(event.payload, events.AppointmentRequested)
    return event.payload


def _event(**changes: object) -> DomainEvent:
    fields: dict[str, object] = {
        "occurred_at": NOW,
        "aggregate_id": uid(7),
        "aggregate_version": 1,
        "payload": _requested(),
    }
    fields.update(changes)
    return DomainEvent(**fields)  # type: ignore[arg-type]


def test_the_type_is_the_wire_name_of_the_payload_class() -> None:
    assert _event().type == events.APPOINTMENT_REQUESTED == "appointment.requested"
    assert {name: payload.TYPE for name, payload in events.CATALOGUE.items()} == {
        name: name for name in events.CATALOGUE
    }


def test_the_catalogue_has_one_slotted_frozen_class_per_event_type() -> None:
    assert (
        set(events.CATALOGUE)
        == events.EVENT_TYPES
        == {
            "appointment.requested",
            "appointment.proposed",
            "appointment.approved",
            "appointment.rejected",
            "appointment.cancelled",
            "appointment.rescheduled",
            "appointment.checked_in",
            "appointment.completed",
            "appointment.no_show",
            "appointment.entered_in_error",
            "reminder.due",
            "appointment.series_booked",
            "user.registered",
            "user.new_device_signed_in",
            "user.password_changed",
            "waitlist.offer_made",
            "doctor.institution_joined",
            "doctor.institution_left",
        }
    )
    classes = list(events.CATALOGUE.values())
    assert len(set(classes)) == len(classes)
    for payload in classes:
        assert dataclasses.is_dataclass(payload) and issubclass(payload, events.EventPayload)
        assert payload.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert "__slots__" in payload.__dict__
    with pytest.raises(TypeError):
        events.CATALOGUE["appointment.teleported"] = events.AppointmentRequested  # type: ignore[index]


def test_events_get_distinct_time_ordered_ids() -> None:
    first, second = _event(), _event()
    assert first.id != second.id
    assert first.id < second.id


def test_event_refuses_payloads_outside_the_catalogue_and_naive_times() -> None:
    requested = _requested()
    shared = {
        f.name: getattr(requested, f.name) for f in dataclasses.fields(events.AppointmentTransition)
    }
    with pytest.raises(ValueError, match="not an event type of the catalogue"):
        _event(payload=events.AppointmentTransition(**shared))  # an abstract base
    with pytest.raises(ValueError, match="not an event type of the catalogue"):
        _event(payload={"appointment_id": str(uid(7))})
    with pytest.raises(ValueError, match="occurred_at must be timezone-aware"):
        _event(occurred_at=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="starts_at must be timezone-aware"):
        dataclasses.replace(requested, starts_at=requested.starts_at.replace(tzinfo=None))


def test_payloads_are_immutable_values() -> None:
    payload = _requested()
    with pytest.raises(dataclasses.FrozenInstanceError):
        payload.reason = "changed"  # type: ignore[misc]
    assert payload == dataclasses.replace(payload)
    same_fields = {f.name: getattr(payload, f.name) for f in dataclasses.fields(payload)}
    another: events.EventPayload = events.AppointmentApproved(**same_fields)
    assert payload != another  # same fields, another event


def test_correlation_is_stamped_once() -> None:
    event = _event()
    stamped = event.correlated("req-1")
    assert stamped.correlation_id == "req-1"
    assert (stamped.id, stamped.payload) == (event.id, event.payload)
    assert stamped.correlated("req-2") is stamped
    assert event.correlated(None) is event


# ------------------------------------------------------------------ TimeSlot


def test_time_slot_refuses_naive_datetimes() -> None:
    naive = datetime(2026, 1, 14, 10, 0)
    with pytest.raises(InvalidInput) as refused:
        TimeSlot(naive, naive + timedelta(minutes=30))
    assert refused.value.field == "starts_at"
    with pytest.raises(InvalidInput) as refused:
        TimeSlot(NOW, naive + timedelta(days=30))
    assert refused.value.field == "ends_at"


@pytest.mark.parametrize("length", [timedelta(0), timedelta(minutes=-30)], ids=["zero", "negative"])
def test_time_slot_refuses_non_positive_lengths(length: timedelta) -> None:
    with pytest.raises(InvalidInput):
        TimeSlot.of(NOW, length)


def test_time_slot_normalises_to_utc() -> None:
    madrid_winter = timezone(timedelta(hours=1))
    slot = TimeSlot(
        datetime(2026, 1, 14, 10, tzinfo=madrid_winter), datetime(2026, 1, 14, 11, tzinfo=UTC)
    )
    assert slot.start == datetime(2026, 1, 14, 9, tzinfo=UTC)
    assert slot.start.tzinfo is UTC
    assert slot.duration == timedelta(hours=2)


def test_touching_slots_do_not_overlap_but_contain_their_edges() -> None:
    first = TimeSlot.of(NOW, timedelta(minutes=30))
    second = TimeSlot.of(first.end, timedelta(minutes=30))
    assert not first.overlaps(second) and not second.overlaps(first)
    assert first.contains_instant(first.start)
    assert not first.contains_instant(first.end)
    assert TimeSlot(first.start, second.end).contains(first)
    assert not first.contains(TimeSlot(first.start, second.end))
