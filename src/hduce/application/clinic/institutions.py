"""Institutions (hospitals, clinics, sites) and the doctors who work at them (ADR 0025).

Anyone may list and read institutions (patients search doctors and slots by them);
only an admin creates, changes, deactivates them and says who works where; an admin
scoped to an institution (ADR 0026) only at theirs, and only global admins add new ones. A doctor
added to or removed from an institution is told (``doctor.institution_joined`` /
``doctor.institution_left``, personal news in the notification policy).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from hduce.application.access import ensure_admin_of, ensure_global_admin
from hduce.application.changes import UNCHANGED, Unchanged, changed_fields, pick
from hduce.application.institutions import active_institution
from hduce.application.ports import InstitutionQuery, Page, UnitOfWorkFactory
from hduce.application.use_case import UseCase, load
from hduce.domain import events
from hduce.domain.errors import BusinessRuleViolation
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Actor
from hduce.domain.ids import uuid7
from hduce.domain.institutions import Address, Institution, InstitutionKind
from hduce.domain.text import plain_text


@dataclass(frozen=True, slots=True)
class NewInstitution:
    name: str
    kind: InstitutionKind
    address: Address
    timezone: str


@dataclass(frozen=True, slots=True)
class InstitutionChanges:
    """Fields to change; ``UNCHANGED`` ones stay as they are."""

    name: str | Unchanged = UNCHANGED
    kind: InstitutionKind | Unchanged = UNCHANGED
    address: Address | Unchanged = UNCHANGED
    timezone: str | Unchanged = UNCHANGED

    def names(self) -> list[str]:
        return changed_fields(self)


class ListInstitutions:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, query: InstitutionQuery) -> Page[Institution]:
        async with self._uow_factory() as uow:
            return await uow.institutions.list(query)


class GetInstitution:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, institution_id: UUID) -> Institution:
        async with self._uow_factory() as uow:
            return await load(uow.institutions.get, institution_id, "institution")


class CreateInstitution(UseCase):
    async def __call__(self, actor: Actor, new: NewInstitution) -> Institution:
        ensure_global_admin(actor, "add institutions")
        institution = Institution(
            id=uuid7(),
            name=plain_text(new.name, "name"),
            kind=new.kind,
            address=new.address,
            timezone=new.timezone,
        )
        async with self.change(actor) as (uow, audit):
            await uow.institutions.add(institution)
            await audit(
                "institution.created",
                "institution",
                institution.id,
                name=institution.name,
                kind=institution.kind.value,
            )
        return institution


class UpdateInstitution(UseCase):
    """Only the fields sent change; ``expected_version`` (an ``If-Match``) refuses a
    change made on a stale copy."""

    async def __call__(
        self,
        actor: Actor,
        institution_id: UUID,
        changes: InstitutionChanges,
        *,
        expected_version: int | None = None,
    ) -> Institution:
        ensure_admin_of(actor, institution_id, "change this institution")
        async with self.change(actor) as (uow, audit):
            current = await load(uow.institutions.get, institution_id, "institution")
            changed = changes.names()
            if not changed:
                return current
            updated = replace(
                current,
                name=plain_text(pick(current.name, changes.name), "name"),
                kind=pick(current.kind, changes.kind),
                address=pick(current.address, changes.address),
                timezone=pick(current.timezone, changes.timezone),
                version=current.version + 1,
            )
            await uow.institutions.save(
                updated,
                expected_version=current.version if expected_version is None else expected_version,
            )
            await audit("institution.updated", "institution", institution_id, fields=changed)
        return updated


class SetInstitutionActive(UseCase):
    """Deactivate (or reactivate) an institution. Deactivating keeps its members, hours
    and appointments (nothing is moved or cancelled); it only stops new members and new
    hours there and hides it from the default list."""

    async def __call__(self, actor: Actor, institution_id: UUID, *, active: bool) -> Institution:
        ensure_admin_of(
            actor,
            institution_id,
            "deactivate this institution" if not active else "activate this institution",
        )
        async with self.change(actor) as (uow, audit):
            current = await load(uow.institutions.get, institution_id, "institution")
            if current.is_active == active:
                return current
            updated = replace(current, is_active=active, version=current.version + 1)
            await uow.institutions.save(updated, expected_version=current.version)
            await audit(
                "institution.activated" if active else "institution.deactivated",
                "institution",
                institution_id,
            )
        return updated


class AddDoctorToInstitution(UseCase):
    """The doctor works there from now on; told in the app (and by email). Adding a
    doctor who works there already changes nothing and tells nobody."""

    async def __call__(self, actor: Actor, institution_id: UUID, doctor_id: UUID) -> bool:
        ensure_admin_of(actor, institution_id, "say who works at this institution")
        async with self.change(actor) as (uow, audit):
            institution = await active_institution(uow, institution_id)
            await load(uow.doctors.get, doctor_id, "doctor")
            if not await uow.institutions.add_member(institution_id, doctor_id):
                return False
            uow.emit(self._event(events.DoctorJoinedInstitution, institution, doctor_id))
            await audit(
                "institution.doctor_added", "institution", institution_id, doctor_id=str(doctor_id)
            )
        return True

    def _event(
        self,
        kind: type[events.DoctorJoinedInstitution] | type[events.DoctorLeftInstitution],
        institution: Institution,
        doctor_id: UUID,
    ) -> DomainEvent:
        return DomainEvent(
            occurred_at=self._clock.now(),
            aggregate_id=institution.id,
            aggregate_version=institution.version,
            payload=kind(
                institution_id=institution.id,
                institution_name=institution.name,
                doctor_id=doctor_id,
            ),
        )


class RemoveDoctorFromInstitution(AddDoctorToInstitution):
    """The doctor no longer works there. Refused while the doctor still has working
    hours there (move or clear them first): hours at a place the doctor does not work
    at would offer slots nobody keeps. Existing appointments there stay as they are."""

    async def __call__(self, actor: Actor, institution_id: UUID, doctor_id: UUID) -> bool:
        ensure_admin_of(actor, institution_id, "say who works at this institution")
        async with self.change(actor, serialized=True) as (uow, audit):
            institution = await load(uow.institutions.get, institution_id, "institution")
            await uow.availability.lock(doctor_id)
            availability = await uow.availability.get(doctor_id)
            if institution_id in availability.weekly.institutions():
                raise BusinessRuleViolation(
                    f"the doctor still has weekly hours at {institution.name!r}; clear them first",
                    rule="institution-has-hours",
                )
            if not await uow.institutions.remove_member(institution_id, doctor_id):
                return False
            uow.emit(self._event(events.DoctorLeftInstitution, institution, doctor_id))
            await audit(
                "institution.doctor_removed",
                "institution",
                institution_id,
                doctor_id=str(doctor_id),
            )
        return True
