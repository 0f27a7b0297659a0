"""Who may see what, and who may book for whom: the authorization counterpart of the
state machine's actor rules (refused with ``PermissionDenied``, HTTP 403, or, where
the refusal itself would tell something, as ``NotFound``)."""

from __future__ import annotations

from uuid import UUID

from hduce.domain.appointments import Appointment
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.identity import Actor, Role
from hduce.domain.privacy import is_party


def can_view(actor: Actor, appointment: Appointment) -> bool:
    """Admins and the system see every appointment; anyone else only those they are a
    party to (the patient, the doctor)."""
    return is_party(actor, patient_id=appointment.patient_id, doctor_id=appointment.doctor_id)


def ensure_can_view(actor: Actor, appointment: Appointment) -> None:
    """Someone else's appointment is missing to whoever may not see it (``NotFound``,
    exactly as for an unknown id): a 403 would confirm that the id exists."""
    if not can_view(actor, appointment):
        raise NotFound("appointment", appointment.id)


def ensure_can_book(actor: Actor, patient_id: UUID, doctor_id: UUID) -> None:
    """Who may book for whom: a patient for themself, a doctor on their own calendar,
    an admin for anyone. (That the system books nothing is the state machine's rule.)"""
    if actor.role is Role.PATIENT and not actor.is_user(patient_id):
        raise PermissionDenied("patients book only for themselves")
    if actor.role is Role.DOCTOR and not actor.is_user(doctor_id):
        raise PermissionDenied("doctors book only on their own calendar")


def ensure_self_or_admin(actor: Actor, user_id: UUID, what: str) -> None:
    if actor.role is Role.ADMIN or actor.is_user(user_id):
        return
    raise PermissionDenied(f"only the owner or an admin may {what}")


def ensure_admin(actor: Actor, what: str) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(f"only an admin may {what}")


def ensure_global_admin(actor: Actor, what: str) -> None:
    """Only an admin of the whole clinic (no institution scope, ADR 0026)."""
    ensure_admin(actor, what)
    if not actor.scope.is_global:
        raise PermissionDenied(f"only an admin of every institution may {what}")


def ensure_admin_of(actor: Actor, institution_id: UUID | None, what: str) -> None:
    """An admin whose scope covers ``institution_id`` (None: the whole clinic, or what
    belongs to no institution: global admins only)."""
    ensure_admin(actor, what)
    if not actor.scope.allows(institution_id):
        raise PermissionDenied(f"an admin of another institution may not {what}")


def scoped_institution(actor: Actor, institution_id: UUID | None, what: str) -> UUID | None:
    """The institution an admin's figures are limited to: the one asked for, or, for a
    scoped admin, their own (asking for another one is refused)."""
    ensure_admin(actor, what)
    scope = actor.scope
    if scope.is_global:
        return institution_id
    restricted = scope.restrict(institution_id)
    if restricted is None:
        raise PermissionDenied(f"an admin of another institution may not {what}")
    return restricted
