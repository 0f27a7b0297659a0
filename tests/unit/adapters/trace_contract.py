"""What every store keeps for tracing (ADR 0012): the trace context of a commit with
each of its events in the outbox, and of a handler with the notifications it stores.

The contexts come from a stand-in ``Tracing`` (no OpenTelemetry): the stores only
carry what the hook hands them. Subclassed for the in-memory store
(``test_memory_trace_context.py``) and for PostgreSQL and SQLite
(``tests/integration/sql/test_trace_context.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta

import pytest

from hduce.application.ports import Outbox, UnitOfWorkFactory
from hduce.application.tracing import Attributes, SpanKind, TraceContext, install_tracing
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel
from tests.unit.adapters.contract import (
    NOW,
    drain,
    new_notification,
    seed_clinic,
    user_registered,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CONTEXT = {"traceparent": TRACEPARENT, "tracestate": "hduce=1"}


class StandInTracing:
    """Tracing whose active span is whatever ``context`` says (None: no span)."""

    def __init__(self) -> None:
        self.context: dict[str, str] | None = None

    def current_context(self) -> dict[str, str] | None:
        return dict(self.context) if self.context else None

    def resumed(self, context: TraceContext | None) -> AbstractContextManager[None]:
        return nullcontext()

    def span(
        self, name: str, *, kind: SpanKind = "internal", attributes: Attributes | None = None
    ) -> AbstractContextManager[None]:
        return nullcontext()

    def current_ids(self) -> tuple[str, str] | None:
        return None

    def untraced(self) -> AbstractContextManager[None]:
        return nullcontext()


@pytest.fixture
def stand_in_tracing() -> Iterator[StandInTracing]:
    tracing = StandInTracing()
    install_tracing(tracing)
    try:
        yield tracing
    finally:
        install_tracing(None)


def _context(value: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(value) if value is not None else None


class TraceContextContract:
    async def test_events_carry_the_context_of_their_commit_through_the_outbox(
        self,
        uow_factory: UnitOfWorkFactory,
        outbox: Outbox,
        stand_in_tracing: StandInTracing,
    ) -> None:
        traced, untraced = user_registered(1), user_registered(2)
        stand_in_tracing.context = CONTEXT
        async with uow_factory() as uow:
            uow.emit(traced)
            await uow.commit()
        stand_in_tracing.context = None  # tracing off, or a sweep outside any span
        async with uow_factory() as uow:
            uow.emit(untraced)
            await uow.commit()

        relayed = await drain(outbox)

        assert [event.id for event in relayed] == [traced.id, untraced.id]
        assert [_context(event.trace_context) for event in relayed] == [CONTEXT, None]
        assert relayed == [traced, untraced]  # not part of the event's identity

    async def test_notifications_keep_the_context_they_were_stored_with(
        self, uow_factory: UnitOfWorkFactory, stand_in_tracing: StandInTracing
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        email = new_notification(clinic.patient, channel=Channel.EMAIL)
        email.trace_context = CONTEXT
        sms = new_notification(clinic.patient, channel=Channel.SMS)  # stored untraced
        async with uow_factory() as uow:
            await uow.notifications.add_all([email, sms])
            await uow.commit()

        async with uow_factory(serialized=True) as uow:
            claimed = await uow.notifications.claim_pending(
                owner=uuid7(), now=NOW, lease=timedelta(minutes=5), limit=10
            )
            await uow.commit()

        contexts = {n.id: _context(n.trace_context) for n in claimed}
        assert contexts == {email.id: CONTEXT, sms.id: None}
