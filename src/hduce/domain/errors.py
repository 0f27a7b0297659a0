"""Domain errors.

Every refusal the domain can make is one of these. Each carries a stable
``code`` that the HTTP layer turns into an RFC 9457 problem ``type``, so clients
can branch on it without parsing messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


class DomainError(Exception):
    """Base of every business refusal. Never raised for programming errors."""

    code: str = "domain-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not-found"

    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"{entity} {entity_id} not found")
        self.entity = entity
        self.entity_id = entity_id


class PermissionDenied(DomainError):
    """The actor is known but may not do this (HTTP 403)."""

    code = "forbidden"


class EmailNotVerified(PermissionDenied):
    """The account may not do this until its owner proves the email address (HTTP 403)."""

    code = "email-not-verified"


class AuthenticationFailed(DomainError):
    """The caller could not be identified (HTTP 401)."""

    code = "unauthenticated"


class InvalidInput(DomainError):
    """A value object refused its input (HTTP 400/422 depending on the layer)."""

    code = "invalid-input"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BusinessRuleViolation(DomainError):
    """A well-formed request that the rules refuse (HTTP 422)."""

    code = "business-rule"

    def __init__(self, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        if rule is not None:
            self.code = rule


class IllegalTransition(BusinessRuleViolation):
    code = "illegal-transition"

    def __init__(self, from_status: str, to_status: str, actor: str, why: str) -> None:
        super().__init__(
            f"{actor} may not move an appointment from {from_status} to {to_status}: {why}"
        )
        self.code = "illegal-transition"
        self.from_status = from_status
        self.to_status = to_status
        self.actor = actor
        self.why = why


@dataclass(frozen=True, slots=True)
class Conflicting:
    """An appointment a slot overlaps, and whose it is (None: not known), so that each
    caller can be told only the ids that are theirs to know."""

    id: UUID
    patient_id: UUID | None = None
    doctor_id: UUID | None = None


class _Appointment(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def patient_id(self) -> UUID: ...
    @property
    def doctor_id(self) -> UUID: ...


class SlotConflict(DomainError):
    """The slot overlaps occupying appointments (HTTP 409).

    Raised with every conflicting appointment; what a caller is told of them is
    ``hduce.domain.privacy.conflict_seen_by``'s decision (``narrowed``).
    """

    code = "slot-conflict"

    def __init__(self, conflicting: Iterable[UUID | Conflicting]) -> None:
        found: dict[UUID, Conflicting] = {}
        for item in conflicting:
            known = item if isinstance(item, Conflicting) else Conflicting(item)
            if known.id not in found or found[known.id].patient_id is None:
                found[known.id] = known
        self.conflicts: tuple[Conflicting, ...] = tuple(sorted(found.values(), key=_by_id))
        self.conflicting_ids: tuple[UUID, ...] = tuple(c.id for c in self.conflicts)
        super().__init__(
            "the requested time overlaps "
            + (
                ", ".join(str(i) for i in self.conflicting_ids)
                if self.conflicting_ids
                else "another appointment"
            )
        )

    @classmethod
    def among(cls, appointments: Iterable[_Appointment]) -> SlotConflict:
        """The conflict with these appointments, whose parties it remembers."""
        return cls(Conflicting(a.id, a.patient_id, a.doctor_id) for a in appointments)

    def narrowed(self, keep: Callable[[Conflicting], bool]) -> SlotConflict:
        """The same conflict naming only the appointments ``keep`` lets through."""
        return SlotConflict(c for c in self.conflicts if keep(c))


def _by_id(conflicting: Conflicting) -> str:
    return str(conflicting.id)


class StaleVersion(DomainError):
    """An update was based on an old version of the record (HTTP 409)."""

    code = "stale-version"

    def __init__(self, entity: str, entity_id: object, expected: int, actual: int | None) -> None:
        super().__init__(
            f"{entity} {entity_id} changed: expected version {expected}, found {actual}"
        )
        self.entity_id = entity_id
        self.expected = expected
        self.actual = actual


class PreconditionFailed(StaleVersion):
    """The version the caller made its request conditional on (``If-Match``) is not the
    current one: nothing was done (HTTP 412). Same code and members as ``StaleVersion``,
    of which it is the case a precondition named."""


class AlreadyExists(DomainError):
    """A uniqueness rule was broken (HTTP 409)."""

    code = "already-exists"


class RateLimited(DomainError):
    code = "rate-limited"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class LinkRefused(DomainError):
    """A single-use emailed token (password reset, email verification) that is not one
    of ours, or not for this purpose (HTTP 400 ``invalid-token``)."""

    code = "invalid-token"


class LinkGone(LinkRefused):
    """A single-use emailed token that existed but can no longer be used (HTTP 410):
    ``token-used`` (used already) or ``token-expired``."""

    def __init__(self, message: str, *, used: bool) -> None:
        super().__init__(message)
        self.code = "token-used" if used else "token-expired"
