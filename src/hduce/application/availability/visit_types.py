"""A doctor's visit types: listed by anyone, managed by the doctor or an admin.

Changing or deleting a type touches no appointment: each booking carries its own
length and buffers (``hduce.domain.visit_types``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from hduce.application.access import ensure_self_or_admin
from hduce.application.ports import UnitOfWorkFactory
from hduce.application.use_case import UseCase, load
from hduce.application.visit_types import visit_type_of
from hduce.domain.errors import NotFound, PreconditionFailed
from hduce.domain.identity import Actor
from hduce.domain.ids import uuid7
from hduce.domain.visit_types import VisitType


@dataclass(frozen=True, slots=True)
class VisitTypeFields:
    """What a doctor sets on a visit type (the HTTP body, in domain units)."""

    name: str
    duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    booking_horizon: timedelta = timedelta(days=90)
    minimum_notice: timedelta = timedelta(hours=1)

    def build(self, visit_type_id: UUID, doctor_id: UUID, version: int = 1) -> VisitType:
        return VisitType(
            id=visit_type_id,
            doctor_id=doctor_id,
            name=self.name,
            duration=self.duration,
            buffer_before=self.buffer_before,
            buffer_after=self.buffer_after,
            booking_horizon=self.booking_horizon,
            minimum_notice=self.minimum_notice,
            version=version,
        )


def _audited(visit_type: VisitType) -> dict[str, Any]:
    return {
        "visit_type_id": str(visit_type.id),
        "name": visit_type.name,
        "duration_minutes": int(visit_type.duration.total_seconds() // 60),
        "buffer_before_minutes": int(visit_type.buffer_before.total_seconds() // 60),
        "buffer_after_minutes": int(visit_type.buffer_after.total_seconds() // 60),
        "booking_horizon_days": visit_type.booking_horizon.days,
        "minimum_notice_minutes": int(visit_type.minimum_notice.total_seconds() // 60),
    }


class ListVisitTypes:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, doctor_id: UUID) -> Sequence[VisitType]:
        async with self._uow_factory() as uow:
            await load(uow.doctors.get, doctor_id, "doctor")
            return await uow.visit_types.list_for(doctor_id)


class CreateVisitType(UseCase):
    async def __call__(self, actor: Actor, doctor_id: UUID, fields: VisitTypeFields) -> VisitType:
        ensure_self_or_admin(actor, doctor_id, "manage visit types")
        async with self.change(actor) as (uow, audit):
            await load(uow.doctors.get, doctor_id, "doctor")
            visit_type = fields.build(uuid7(), doctor_id)
            await uow.visit_types.add(visit_type)
            await audit("doctor.visit_type_created", "doctor", doctor_id, **_audited(visit_type))
        return visit_type


class UpdateVisitType(UseCase):
    """Replace a type's fields; ``expected_version`` (If-Match) guards lost updates."""

    async def __call__(
        self,
        actor: Actor,
        doctor_id: UUID,
        visit_type_id: UUID,
        fields: VisitTypeFields,
        expected_version: int | None = None,
    ) -> VisitType:
        ensure_self_or_admin(actor, doctor_id, "manage visit types")
        async with self.change(actor) as (uow, audit):
            current = await visit_type_of(uow, doctor_id, visit_type_id)
            if expected_version is not None and expected_version != current.version:
                raise PreconditionFailed(
                    "visit type", visit_type_id, expected_version, current.version
                )
            changed = fields.build(current.id, doctor_id, current.version + 1)
            await uow.visit_types.save(changed, expected_version=current.version)
            await audit("doctor.visit_type_changed", "doctor", doctor_id, **_audited(changed))
        return changed


class DeleteVisitType(UseCase):
    async def __call__(self, actor: Actor, doctor_id: UUID, visit_type_id: UUID) -> None:
        ensure_self_or_admin(actor, doctor_id, "manage visit types")
        async with self.change(actor) as (uow, audit):
            current = await visit_type_of(uow, doctor_id, visit_type_id)
            if not await uow.visit_types.delete(current.id):
                raise NotFound("visit type", visit_type_id)
            await audit("doctor.visit_type_deleted", "doctor", doctor_id, **_audited(current))
