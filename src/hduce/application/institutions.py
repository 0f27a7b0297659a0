"""The checks of a place of work, shared by the institutions' use cases and the
working-hours ones (ADR 0025)."""

from __future__ import annotations

from uuid import UUID

from hduce.application.ports import Repositories
from hduce.application.use_case import load
from hduce.domain.errors import BusinessRuleViolation
from hduce.domain.institutions import Institution


async def active_institution(uow: Repositories, institution_id: UUID) -> Institution:
    """The institution, which must exist (NotFound) and be active (422 otherwise)."""
    institution = await load(uow.institutions.get, institution_id, "institution")
    if not institution.is_active:
        raise BusinessRuleViolation(
            f"institution {institution.name!r} is inactive", rule="institution-inactive"
        )
    return institution


async def ensure_workplace(uow: Repositories, doctor_id: UUID, institution_id: UUID) -> None:
    """Hours at ``institution_id``: it must be active, and the doctor must work there."""
    institution = await active_institution(uow, institution_id)
    if institution_id not in await uow.institutions.institutions_of(doctor_id):
        raise BusinessRuleViolation(
            f"the doctor does not work at {institution.name!r}; an admin adds them first",
            rule="not-a-member",
        )
