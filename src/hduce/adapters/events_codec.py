"""The wire format of domain events, for every adapter that stores or ships them.

The SQL outbox writes and reads it today; a broker publisher and its consumers use
the same functions, so each reads what any other wrote. The format is the one the
first outbox rows were written in::

    {"id", "type", "occurred_at", "aggregate_id", "aggregate_version",
     "correlation_id", "payload": {<the payload class's fields>}}

UUIDs as strings, times as ``datetime.isoformat()`` (``+00:00``), enums as their
values. A payload field left at its default is left out, as msgspec's
``omit_defaults`` does: ``rescheduled_to`` appears only when it is set.

Decoding is strict: the type must be in the domain's ``CATALOGUE`` and the payload
must fit its class (msgspec checks every field), else ``MalformedEvent``. Keys a
class does not know are ignored, so a newer writer's extra field breaks no reader.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from hduce.domain.events import CATALOGUE, DomainEvent, EventPayload

_T = TypeVar("_T")


class MalformedEvent(ValueError):
    """An event whose type the catalogue does not know, or whose fields do not fit."""


class _Envelope(msgspec.Struct, frozen=True):
    id: UUID
    type: str
    occurred_at: datetime
    aggregate_id: UUID
    aggregate_version: int
    payload: dict[str, Any]
    correlation_id: str | None = None


def event_to_dict(event: DomainEvent) -> dict[str, Any]:
    """The event as JSON-compatible builtins (what a JSON column stores)."""
    return {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "aggregate_id": str(event.aggregate_id),
        "aggregate_version": event.aggregate_version,
        "correlation_id": event.correlation_id,
        "payload": _payload_to_dict(event.payload),
    }


def event_from_dict(data: object) -> DomainEvent:
    """The event ``event_to_dict`` made; raises ``MalformedEvent`` for anything else."""
    envelope = _convert(data, _Envelope, "event envelope")
    payload_class = CATALOGUE.get(envelope.type)
    if payload_class is None:
        raise MalformedEvent(f"event {envelope.id}: unknown event type {envelope.type!r}")
    what = f"event {envelope.id} ({envelope.type}) payload"
    payload = _convert(envelope.payload, payload_class, what)
    try:
        return DomainEvent(
            id=envelope.id,
            occurred_at=envelope.occurred_at,
            aggregate_id=envelope.aggregate_id,
            aggregate_version=envelope.aggregate_version,
            correlation_id=envelope.correlation_id,
            payload=payload,
        )
    except ValueError as error:
        raise MalformedEvent(f"event {envelope.id} ({envelope.type}): {error}") from error


def encode_event(event: DomainEvent) -> bytes:
    """The event as JSON (a broker message body)."""
    return msgspec.json.encode(event_to_dict(event))


def decode_event(raw: bytes | str) -> DomainEvent:
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as error:
        raise MalformedEvent(f"an event is not valid JSON: {error}") from error
    return event_from_dict(data)


def _payload_to_dict(payload: EventPayload) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for payload_field in fields(payload):
        value = getattr(payload, payload_field.name)
        if payload_field.default is MISSING or value != payload_field.default:
            encoded[payload_field.name] = _builtin(value)
    return encoded


def _builtin(value: object) -> Any:
    # isoformat(), not msgspec's "Z": rows and messages already written say "+00:00".
    if isinstance(value, datetime):
        return value.isoformat()
    return msgspec.to_builtins(value)


def _convert(data: object, into: type[_T], what: str) -> _T:
    try:
        return msgspec.convert(data, into)
    except (msgspec.ValidationError, ValueError, TypeError) as error:
        raise MalformedEvent(f"{what}: {error}") from error
