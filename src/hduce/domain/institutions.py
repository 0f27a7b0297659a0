"""Institutions: the hospitals, clinics and sites where doctors see patients (ADR 0025)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from uuid import UUID

from hduce.domain.errors import InvalidInput
from hduce.domain.identity import validate_timezone

MAX_NAME_LENGTH: Final = 200
MAX_ADDRESS_FIELD_LENGTH: Final = 200


class InstitutionKind(StrEnum):
    HOSPITAL = "hospital"
    CLINIC = "clinic"
    SITE = "site"


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address. Only ``line1``, ``city`` and ``country`` are required;
    ``country`` is an ISO 3166-1 alpha-2 code."""

    line1: str
    city: str
    country: str
    line2: str = ""
    postal_code: str = ""
    region: str = ""

    def __post_init__(self) -> None:
        for name in ("line1", "line2", "city", "postal_code", "region"):
            value = str(getattr(self, name)).strip()
            if len(value) > MAX_ADDRESS_FIELD_LENGTH:
                raise InvalidInput(
                    f"{name} has at most {MAX_ADDRESS_FIELD_LENGTH} characters",
                    field=f"address.{name}",
                )
            object.__setattr__(self, name, value)
        for name in ("line1", "city"):
            if not getattr(self, name):
                raise InvalidInput(f"an address needs {name}", field=f"address.{name}")
        country = self.country.strip().upper()
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise InvalidInput(
                "country is an ISO 3166-1 alpha-2 code (e.g. ES)", field="address.country"
            )
        object.__setattr__(self, "country", country)


@dataclass(slots=True)
class Institution:
    """A place of care. It is deactivated, never deleted: appointments and working
    hours keep pointing at it. An inactive institution takes no new members or hours."""

    id: UUID
    name: str
    kind: InstitutionKind
    address: Address
    timezone: str
    is_active: bool = True
    version: int = 1

    def __post_init__(self) -> None:
        self.name = self.name.strip()
        if not self.name or len(self.name) > MAX_NAME_LENGTH:
            raise InvalidInput(
                f"an institution needs a name of 1..{MAX_NAME_LENGTH} characters", field="name"
            )
        try:
            self.kind = InstitutionKind(self.kind)
        except ValueError:
            raise InvalidInput(
                f"kind is one of {', '.join(k.value for k in InstitutionKind)}", field="kind"
            ) from None
        self.timezone = validate_timezone(self.timezone)
