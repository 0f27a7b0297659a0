"""What the appointment commands share: the policy, the visit's slot, the locked
load, and the audit entry of a status change.

Each command runs in one unit of work: load, let the domain decide, save, audit,
commit (the domain events reach the outbox in that same transaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from hduce.application.access import ensure_can_view
from hduce.application.ports import (
    NO_METRICS,
    AppointmentMetrics,
    Clock,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.application.use_case import Audit, UseCase
from hduce.domain.appointments import Appointment
from hduce.domain.errors import NotFound, PreconditionFailed, SlotConflict
from hduce.domain.identity import Actor
from hduce.domain.privacy import conflict_seen_by
from hduce.domain.scheduling import SchedulingPolicy, TimeSlot, ensure_utc


class AppointmentUseCase(UseCase):
    """A use case over appointments: the frame plus the clinic's scheduling policy.

    Its changes tell a caller of a slot conflict only what is theirs to know
    (``conflict_seen_by``), whether the domain or the storage found the overlap, and
    report each committed status move of an existing appointment to ``metrics``.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: SchedulingPolicy,
        metrics: AppointmentMetrics = NO_METRICS,
    ) -> None:
        super().__init__(uow_factory, clock)
        self._policy = policy
        self._metrics = metrics

    @asynccontextmanager
    async def change(
        self, actor: Actor, *, serialized: bool = False
    ) -> AsyncIterator[tuple[UnitOfWork, Audit]]:
        try:
            async with super().change(actor, serialized=serialized) as frame:
                yield frame
        except SlotConflict as conflict:
            # The storage's own error stays the cause; the full conflict goes no further.
            raise conflict_seen_by(actor, conflict) from conflict.__cause__
        # Committed: every status change was audited (``audit_status``).
        for entry in frame[1].entries:
            from_status = entry.details.get("from_status")
            if entry.target_type == "appointment" and from_status and "to_status" in entry.details:
                self._metrics.transition(from_status, entry.details["to_status"])


async def visit_slot(
    uow: UnitOfWork, doctor_id: UUID, starts_at: datetime, ends_at: datetime | None
) -> TimeSlot:
    """The slot asked for with an active doctor; without an end, the doctor's visit length."""
    doctor = await uow.doctors.get(doctor_id)
    account = await uow.users.get(doctor_id) if doctor is not None else None
    if doctor is None or account is None or not account.is_active:
        raise NotFound("doctor", doctor_id)
    start = ensure_utc(starts_at, "starts_at")
    end = ensure_utc(ends_at, "ends_at") if ends_at is not None else start + doctor.visit_length
    return TimeSlot(start, end)


async def load_for_change(
    uow: UnitOfWork, actor: Actor, appointment_id: UUID, expected_version: int | None
) -> Appointment:
    """The appointment, locked, if ``actor`` may see it (else ``NotFound``, as for an
    unknown id: checked before the version, which must not tell strangers anything)
    and it is still at that version."""
    appointment = await uow.appointments.get(appointment_id, for_update=True)
    if appointment is None:
        raise NotFound("appointment", appointment_id)
    ensure_can_view(actor, appointment)
    if expected_version is not None and expected_version != appointment.version:
        # expected_version is always the request's If-Match: a failed precondition.
        raise PreconditionFailed(
            "appointment", appointment_id, expected_version, appointment.version
        )
    return appointment


async def audit_status(audit: Audit, appointment: Appointment, action: str, at: datetime) -> None:
    """The audit entry of the appointment's latest status change."""
    last = appointment.history[-1]
    await audit(
        action,
        "appointment",
        appointment.id,
        at=at,
        from_status=last.from_status.value if last.from_status else None,
        to_status=last.to_status.value,
        reason=last.reason,
        version=appointment.version,
    )
