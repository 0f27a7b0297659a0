"""Who acts: users, their roles, and the actor of a command."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hduce.domain.errors import InvalidInput
from hduce.domain.text import is_forbidden_character


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"
    #: The system itself (expiry of unanswered requests, no-show sweeps, reminders).
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class AdminScope:
    """Which institutions an admin manages (ADR 0026): all of them (``institution_id``
    None, a global admin, the default), or the one institution they are scoped to."""

    institution_id: UUID | None = None

    @property
    def is_global(self) -> bool:
        return self.institution_id is None

    def allows(self, institution_id: UUID | None) -> bool:
        """May this admin act on ``institution_id``? None means "the whole clinic" (every
        institution at once, or hours and figures of no institution): global admins only."""
        return self.institution_id is None or self.institution_id == institution_id

    def restrict(self, institution_id: UUID | None) -> UUID | None:
        """The institution a figure asked for ``institution_id`` is limited to: the
        scope's own when none is asked; None (refused) when another one is asked."""
        if self.institution_id is None:
            return institution_id
        if institution_id is None or institution_id == self.institution_id:
            return self.institution_id
        return None


GLOBAL_SCOPE = AdminScope()


@dataclass(frozen=True, slots=True)
class Actor:
    """The one who issues a command. ``user_id`` is None only for the system.

    ``institution_id``: the institution an admin is scoped to (``AdminScope``); None
    for a global admin and for every other role."""

    role: Role
    user_id: UUID | None = None
    institution_id: UUID | None = None

    def __post_init__(self) -> None:
        if self.role is not Role.SYSTEM and self.user_id is None:
            raise ValueError(f"a {self.role} actor needs a user id")
        if self.institution_id is not None and self.role is not Role.ADMIN:
            raise ValueError("only an admin may be scoped to an institution")

    @property
    def scope(self) -> AdminScope:
        return AdminScope(self.institution_id) if self.institution_id else GLOBAL_SCOPE

    @classmethod
    def system(cls) -> Actor:
        return cls(Role.SYSTEM, None)

    def is_user(self, user_id: UUID) -> bool:
        return self.user_id == user_id

    def __str__(self) -> str:
        return self.role.value if self.user_id is None else f"{self.role.value} {self.user_id}"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def normalise_email(raw: str) -> str:
    """The one spelling of an email that accounts are stored and looked up by.

    Addresses that read the same are one address: case is folded and compatibility
    forms are unified (Unicode NFKC + casefold), so ``ＡＮＡ@example.org`` (fullwidth)
    and ``Ana@Example.org`` are both ``ana@example.org``. The final ``lower`` matters
    for the few letters that casefold to capitals (Cherokee): the database keeps
    emails in lower case. Control and bidirectional characters are refused.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold())
    email = folded.lower().strip()
    if (
        len(email) > 320
        or not _EMAIL.match(email)
        or any(is_forbidden_character(char) for char in email)
    ):
        raise InvalidInput(f"{raw!r} is not an email address", field="email")
    return email


def validate_phone(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    phone = raw.strip().replace(" ", "")
    if not _E164.match(phone):
        raise InvalidInput(f"{raw!r} is not an E.164 phone number (e.g. +34600111222)", "phone")
    return phone


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name!r} is not an IANA timezone", field="timezone") from None
    return name


@dataclass(slots=True)
class User:
    id: UUID
    email: str
    full_name: str
    role: Role
    created_at: datetime
    phone: str | None = None
    password_hash: str | None = None
    google_subject: str | None = None
    is_active: bool = True
    timezone: str = "UTC"
    email_opt_out: bool = False
    sms_opt_out: bool = False
    version: int = 1
    #: Notifications turned off per channel and kind ("email:appointment.approved"),
    #: checked by ``hduce.domain.notifications.checked_opt_outs``.
    notification_opt_outs: frozenset[str] = frozenset()
    #: Access tokens issued before this instant are refused (``revoke_tokens``).
    tokens_valid_after: datetime | None = None
    #: When the owner proved the address is theirs (an emailed link, Google saying
    #: so, an admin typing it in); None: not yet (``email_verified``).
    email_verified_at: datetime | None = None
    #: The institution an admin is scoped to (ADR 0026); None: a global admin (and
    #: always for other roles).
    admin_institution_id: UUID | None = None

    def __post_init__(self) -> None:
        if self.role is Role.SYSTEM:
            raise InvalidInput("no account may have the system role", field="role")
        if self.admin_institution_id is not None and self.role is not Role.ADMIN:
            raise InvalidInput("only an admin may be scoped to an institution", field="role")
        self.email = normalise_email(self.email)
        self.phone = validate_phone(self.phone)
        self.timezone = validate_timezone(self.timezone)
        if not self.full_name.strip():
            raise InvalidInput("full name is required", field="full_name")

    @property
    def actor(self) -> Actor:
        return Actor(self.role, self.id, self.admin_institution_id)

    def scope_to(self, institution_id: UUID | None) -> bool:
        """Scope this admin to ``institution_id`` (None: global again); False when it
        already was."""
        if self.role is not Role.ADMIN:
            raise InvalidInput("only an admin may be scoped to an institution", field="user_id")
        if self.admin_institution_id == institution_id:
            return False
        self.admin_institution_id = institution_id
        return True

    def revoke_tokens(self, now: datetime) -> None:
        """Refuse every access token issued until ``now`` (e.g. on deactivation, so that
        reactivating the account later does not revive them).

        Tokens state their issue time in whole seconds (JWT ``iat``), so the bar is the
        next whole second: a token of this very second cannot be told apart from one
        issued just before, and is refused as well. A token issued since an earlier bar
        that still lies ahead states that bar as its issue time (``token_issue_time``),
        so the new bar goes one second past it.
        """
        bar = now.replace(microsecond=0) + timedelta(seconds=1)
        if self.tokens_valid_after is not None and self.tokens_valid_after >= bar:
            bar = self.tokens_valid_after + timedelta(seconds=1)
        self.tokens_valid_after = bar

    def token_issue_time(self, now: datetime) -> datetime:
        """The issue time to state in a new access token: ``now``, or the bar of a
        revocation made in this same second (``revoke_tokens``), which lies up to a
        second or two ahead. A sign-in right after a password reset would otherwise get
        a token its own reset refuses. Verifiers tolerate that much clock skew."""
        if self.tokens_valid_after is not None and self.tokens_valid_after > now:
            return self.tokens_valid_after
        return now

    def accepts_token_issued_at(self, issued_at: datetime) -> bool:
        return self.tokens_valid_after is None or issued_at >= self.tokens_valid_after

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def verify_email(self, now: datetime) -> bool:
        """Record that the address is proven; False (and nothing changes) if it was."""
        if self.email_verified_at is not None:
            return False
        self.email_verified_at = now
        return True


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class PatientProfile:
    user_id: UUID
    date_of_birth: date | None = None
    sex: Sex = Sex.UNKNOWN
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.emergency_contact_phone = validate_phone(self.emergency_contact_phone)
