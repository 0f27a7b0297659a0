"""The lookup of a doctor's visit type, shared by booking and the free-slot search."""

from __future__ import annotations

from uuid import UUID

from hduce.application.ports import Repositories
from hduce.domain.errors import NotFound
from hduce.domain.visit_types import VisitType


async def visit_type_of(uow: Repositories, doctor_id: UUID, visit_type_id: UUID) -> VisitType:
    """The doctor's visit type; another doctor's is as unknown as a missing one."""
    found = await uow.visit_types.get(visit_type_id)
    if found is None or found.doctor_id != doctor_id:
        raise NotFound("visit type", visit_type_id)
    return found
