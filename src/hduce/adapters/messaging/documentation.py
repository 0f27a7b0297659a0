"""The events as the AsyncAPI document shows them, and the document itself.

FastStream describes a channel's messages from Python types (through pydantic).
The wire format is the one ``hduce.adapters.events_codec`` writes: an envelope
around the payload dataclass of ``hduce.domain.events``. ``envelope`` builds that
envelope as a dataclass per event type, so the document shows the real fields of
every payload. Consumers receive the annotation wrapped in ``SkipValidation``: it
documents the message, while decoding (and refusing poison messages) stays with
the codec.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import field, make_dataclass
from datetime import datetime
from typing import Any, Literal, Union
from uuid import UUID

from faststream.specification import AsyncAPI
from pydantic import SkipValidation

from hduce.domain.events import CATALOGUE

ASYNCAPI_VERSION = "3.0.0"


@functools.cache
def envelope(event_type: str) -> type:
    """The message of ``event_type`` as a dataclass: envelope fields and typed payload."""
    payload = CATALOGUE[event_type]
    return make_dataclass(
        f"{payload.__name__}Event",
        [
            ("id", UUID),
            ("type", Literal[event_type]),
            ("occurred_at", datetime),
            ("aggregate_id", UUID),
            ("aggregate_version", int),
            ("payload", payload),
            ("correlation_id", str | None, field(default=None)),
        ],
        frozen=True,
    )


def message_annotation(event_types: Iterable[str]) -> Any:
    """What a consumer's message parameter is annotated with: the union of the
    envelopes it may receive, for the document only (never validated)."""
    envelopes = tuple(envelope(t) for t in sorted(event_types))
    union: Any = envelopes[0] if len(envelopes) == 1 else Union.__getitem__(envelopes)
    documented: Any = SkipValidation
    return documented[union]


def description(event_type: str) -> str:
    payload = CATALOGUE[event_type]
    doc = (payload.__doc__ or "").strip()
    # A dataclass without a docstring gets its signature as one; that says nothing.
    if not doc or doc.startswith(payload.__name__ + "("):
        return f"`{event_type}`: the domain event `{payload.__name__}`."
    return f"`{event_type}`: {doc}"


def render_asyncapi(*brokers: Any, title: str, version: str, description: str) -> str:
    """The AsyncAPI document (JSON) of what ``brokers`` publish and consume (the event
    broker, and the check-in devices' MQTT broker).

    The page that renders it is the HTTP entrypoint's own (``entrypoints/http/asyncapi.py``):
    FastStream's loads its viewer from a CDN and runs an inline script."""
    specification = AsyncAPI(
        *brokers,
        title=title,
        version=version,
        description=description,
        schema_version=ASYNCAPI_VERSION,
    ).to_specification()
    return specification.to_json()
