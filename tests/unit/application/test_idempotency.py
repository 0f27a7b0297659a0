"""BookAppointmentOnce: a booking behind an Idempotency-Key, over the in-memory adapters."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

import pytest

from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.idempotency import (
    IDEMPOTENCY_TTL,
    BookAppointmentOnce,
    IdempotencyKeyReused,
    IdempotentRequest,
    request_fingerprint,
)
from hduce.domain.appointments import Appointment
from hduce.domain.errors import BusinessRuleViolation, InvalidInput, SlotConflict
from tests.unit.application.support import (
    NOW,
    POLICY,
    TUESDAY,
    WEDNESDAY,
    Clinic,
    InterleavingUnitOfWorkFactory,
    local,
)

KEY = "3f0c7d1e-key"
PATH = "/api/v1/appointments"


def render(appointment: Appointment) -> bytes:
    return json.dumps({"id": str(appointment.id), "version": appointment.version}).encode()


def command(
    clinic: Clinic, hhmm: str = "10:00", who: str = "patient", day: date = TUESDAY
) -> BookAppointmentCommand:
    return BookAppointmentCommand(
        actor=clinic.actor(who),
        doctor_id=clinic.people.doctor.id,
        starts_at=local(day, hhmm),
        reason="check-up",
    )


def request(
    clinic: Clinic, hhmm: str = "10:00", who: str = "patient", key: str = KEY, day: date = TUESDAY
) -> IdempotentRequest:
    user = getattr(clinic.people, who)
    body = {
        "doctor_id": str(clinic.people.doctor.id),
        "starts_at": local(day, hhmm).isoformat(),
    }
    return IdempotentRequest(key=key, user_id=user.id, method="POST", path=PATH, body=body)


@pytest.fixture
def book_once(clinic: Clinic) -> BookAppointmentOnce:
    return BookAppointmentOnce(clinic.uow_factory, clinic.clock, POLICY)


def test_the_fingerprint_ignores_key_order_but_not_content() -> None:
    a = request_fingerprint("POST", PATH, {"a": 1, "b": [1, 2]})
    assert a == request_fingerprint("post", PATH, {"b": [1, 2], "a": 1})
    assert a != request_fingerprint("POST", PATH, {"a": 1, "b": [2, 1]})
    assert a != request_fingerprint("PUT", PATH, {"a": 1, "b": [1, 2]})
    assert a != request_fingerprint("POST", PATH + "/x", {"a": 1, "b": [1, 2]})
    assert len(a) == 64  # SHA-256, hex


async def test_first_call_books_and_stores_the_response_in_the_same_commit(
    clinic: Clinic, book_once: BookAppointmentOnce
) -> None:
    commits = clinic.store.commits
    result = await book_once(command(clinic), request(clinic), render)

    assert (result.status_code, result.replayed) == (201, False)
    [appointment] = clinic.store.appointments.values()
    assert json.loads(result.body) == {"id": str(appointment.id), "version": 1}
    assert clinic.store.commits == commits + 1  # booking and record: one transaction
    [record] = clinic.store.idempotency.values()
    assert (record.key, record.user_id) == (KEY, clinic.people.patient.id)
    assert record.fingerprint == request(clinic).fingerprint
    assert (record.status_code, record.body) == (201, result.body)
    assert (record.created_at, record.expires_at) == (NOW, NOW + IDEMPOTENCY_TTL)


async def test_a_retry_replays_without_booking_again(
    clinic: Clinic, book_once: BookAppointmentOnce
) -> None:
    first = await book_once(command(clinic), request(clinic), render)
    snapshot = clinic.snapshot()
    again = await book_once(command(clinic), request(clinic), render)
    assert (again.status_code, again.body, again.replayed) == (201, first.body, True)
    assert clinic.snapshot() == snapshot  # nothing written


async def test_another_request_under_the_same_key_is_refused(
    clinic: Clinic, book_once: BookAppointmentOnce
) -> None:
    await book_once(command(clinic), request(clinic), render)
    snapshot = clinic.snapshot()
    with pytest.raises(IdempotencyKeyReused) as refused:
        await book_once(command(clinic, "11:00"), request(clinic, "11:00"), render)
    assert isinstance(refused.value, BusinessRuleViolation)  # HTTP 422
    assert refused.value.code == "idempotency-key-reused"
    assert clinic.snapshot() == snapshot


async def test_keys_are_per_user(clinic: Clinic, book_once: BookAppointmentOnce) -> None:
    await book_once(command(clinic), request(clinic), render)
    other = await book_once(
        command(clinic, "11:00", who="other_patient"),
        request(clinic, "11:00", who="other_patient"),
        render,
    )
    assert other.replayed is False
    assert len(clinic.store.appointments) == 2


async def test_a_refused_booking_stores_nothing(
    clinic: Clinic, book_once: BookAppointmentOnce
) -> None:
    await clinic.book("other_patient", starts_at=local(TUESDAY, "10:00"))
    snapshot = clinic.snapshot()
    with pytest.raises(SlotConflict):
        await book_once(command(clinic), request(clinic), render)
    assert clinic.snapshot() == snapshot
    assert not clinic.store.idempotency


async def test_after_expiry_the_key_is_new_again(
    clinic: Clinic, book_once: BookAppointmentOnce
) -> None:
    on_wednesday = command(clinic, day=WEDNESDAY), request(clinic, day=WEDNESDAY)
    await book_once(*on_wednesday, render)
    clinic.clock.advance(IDEMPOTENCY_TTL + timedelta(seconds=1))
    # Not replayed: run again, and refused because that slot is taken (by the first).
    with pytest.raises(SlotConflict):
        await book_once(*on_wednesday, render)


async def test_malformed_keys_are_invalid_input(
    clinic: Clinic, book_once: BookAppointmentOnce
) -> None:
    for key in ("", "k" * 256, "two words", "ключ"):
        with pytest.raises(InvalidInput):
            await book_once(command(clinic), request(clinic, key=key), render)
    assert not clinic.store.appointments


async def test_racing_copies_book_once_and_all_answer_the_same(clinic: Clinic) -> None:
    # Each unit of work yields after its idempotency lookup and its overlap check, so
    # all copies look before any commits.
    racing = InterleavingUnitOfWorkFactory(
        clinic.uow_factory, "idempotency.get", "appointments.occupying_overlapping"
    )
    book_once = BookAppointmentOnce(racing, clinic.clock, POLICY)
    results = await asyncio.gather(
        *(book_once(command(clinic), request(clinic), render) for _ in range(5))
    )
    assert len(clinic.store.appointments) == 1
    assert len({r.body for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False, True, True, True, True]


async def test_racing_requests_reusing_a_key_book_once(clinic: Clinic) -> None:
    racing = InterleavingUnitOfWorkFactory(clinic.uow_factory, "idempotency.get")
    book_once = BookAppointmentOnce(racing, clinic.clock, POLICY)
    outcomes = await asyncio.gather(
        *(
            book_once(command(clinic, hhmm), request(clinic, hhmm), render)
            for hhmm in ("10:00", "11:00", "12:00")
        ),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, IdempotencyKeyReused)]
    assert len(refused) == 2, outcomes
    assert len(clinic.store.appointments) == 1
    assert len(clinic.store.idempotency) == 1
