"""What each person may learn about appointments that are not theirs.

* ``is_party``: a patient or a doctor is told about an appointment only when they are
  its patient or its doctor; admins (and the system) about every one.
* ``conflict_seen_by``: a slot conflict names, to each caller, only the conflicting
  appointments they are a party to: a patient never learns the id of another
  patient's visit, a doctor sees the ids on their own calendar.
* ``establishes_care``: the care relationship that opens a patient's record to a
  doctor starts with the patient's consent, or staff's: a booking the patient made,
  one an admin made, or a doctor's proposal the patient (or an admin for them)
  accepted. A doctor's own booking is only a proposal: by itself it opens nothing.
  A record voided as entered in error is no care relationship.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from uuid import UUID

from hduce.domain.appointment_status import AppointmentStatus, StatusChange
from hduce.domain.errors import Conflicting, SlotConflict
from hduce.domain.identity import Actor, Role

#: The roles that oversee every appointment.
STAFF_ROLES = frozenset({Role.ADMIN, Role.SYSTEM})


def is_party(actor: Actor, *, patient_id: UUID | None, doctor_id: UUID | None) -> bool:
    """True when ``actor`` may know of an appointment between these two."""
    if actor.role in STAFF_ROLES:
        return True
    return actor.user_id is not None and actor.user_id in (patient_id, doctor_id)


def conflict_seen_by(actor: Actor, conflict: SlotConflict) -> SlotConflict:
    """``conflict`` as ``actor`` may see it: the ids of the appointments they are a
    party to (all of them for staff); none, when the slot is taken by others only."""
    if actor.role in STAFF_ROLES:
        return conflict

    def theirs(conflicting: Conflicting) -> bool:
        return is_party(actor, patient_id=conflicting.patient_id, doctor_id=conflicting.doctor_id)

    return conflict.narrowed(theirs)


# ------------------------------------------------------------------ the care relationship

#: Who consents to care when they book or accept: the patient, or staff for them.
CONSENTING_ROLES: Final = frozenset({Role.PATIENT, Role.ADMIN})
#: A booking in this status is an offer, consent to nothing yet.
OFFERED: Final = AppointmentStatus.PROPOSED
#: Accepting an offer moves it here.
ACCEPTED: Final = AppointmentStatus.APPROVED
#: A record made by mistake: whatever its history says, it is no care relationship.
VOID: Final = AppointmentStatus.ENTERED_IN_ERROR


def gives_consent(change: StatusChange) -> bool:
    """Whether this history line puts the patient in the doctor's care: a booking the
    patient or an admin made (not an offer), or an offer the patient or an admin
    accepted. (The SQL store asks the same of the history rows: keep them alike.)"""
    if change.actor_role not in CONSENTING_ROLES:
        return False
    if change.from_status is None:
        return change.to_status is not OFFERED
    return change.from_status is OFFERED and change.to_status is ACCEPTED


def establishes_care(status: AppointmentStatus, history: Iterable[StatusChange]) -> bool:
    """Whether an appointment in ``status`` with this ``history`` makes its patient the
    patient of its doctor (today and afterwards: a past visit still counts)."""
    return status is not VOID and any(gives_consent(change) for change in history)
