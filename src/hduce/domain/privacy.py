"""What each person may learn about appointments that are not theirs.

* ``is_party``: a patient or a doctor is told about an appointment only when they are
  its patient or its doctor; admins (and the system) about every one.
* ``conflict_seen_by``: a slot conflict names, to each caller, only the conflicting
  appointments they are a party to: a patient never learns the id of another
  patient's visit, a doctor sees the ids on their own calendar.
"""

from __future__ import annotations

from uuid import UUID

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
