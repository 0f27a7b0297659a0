"""The clinic's catalogue: specialties and doctors' professional profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from hduce.domain.errors import InvalidInput
from hduce.domain.identity import validate_timezone


@dataclass(slots=True)
class Specialty:
    id: UUID
    name: str
    description: str = ""

    def __post_init__(self) -> None:
        self.name = self.name.strip()
        if not self.name or len(self.name) > 120:
            raise InvalidInput("a specialty needs a name of 1..120 characters", field="name")


@dataclass(slots=True)
class Doctor:
    """A doctor's profile. Its id is the doctor's user id (one account, one profile)."""

    user_id: UUID
    licence_number: str
    specialty_id: UUID
    timezone: str
    consultation_fee: Decimal = Decimal("0")
    visit_minutes: int = 30
    bio: str = ""
    version: int = 1

    def __post_init__(self) -> None:
        self.licence_number = self.licence_number.strip()
        if not self.licence_number:
            raise InvalidInput("licence number is required", field="licence_number")
        self.timezone = validate_timezone(self.timezone)
        if self.consultation_fee < 0:
            raise InvalidInput("consultation fee cannot be negative", field="consultation_fee")
        if not 5 <= self.visit_minutes <= 480:
            raise InvalidInput("visit length must be 5..480 minutes", field="visit_minutes")

    @property
    def id(self) -> UUID:
        return self.user_id

    @property
    def visit_length(self) -> timedelta:
        return timedelta(minutes=self.visit_minutes)
