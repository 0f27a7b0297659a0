"""The specialties of the clinic: anyone may list them, only an admin edits them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final
from uuid import UUID

from hduce.application.access import ensure_admin
from hduce.application.changes import UNCHANGED, Unchanged, changed_fields, pick
from hduce.application.ports import UnitOfWorkFactory
from hduce.application.use_case import UseCase, load
from hduce.domain.clinic import Specialty
from hduce.domain.errors import InvalidInput
from hduce.domain.identity import Actor
from hduce.domain.ids import uuid7
from hduce.domain.text import plain_text

MAX_DESCRIPTION_LENGTH: Final = 2000


def _name(text: str) -> str:
    return plain_text(text, "name")  # then ``Specialty`` checks the length


def _description(text: str) -> str:
    text = plain_text(text, "description", multiline=True)
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"a description has at most {MAX_DESCRIPTION_LENGTH} characters", field="description"
        )
    return text


@dataclass(frozen=True, slots=True)
class SpecialtyChanges:
    """Fields to change; ``UNCHANGED`` ones stay as they are."""

    name: str | Unchanged = UNCHANGED
    description: str | Unchanged = UNCHANGED

    def names(self) -> list[str]:
        return changed_fields(self)


class ListSpecialties:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self) -> Sequence[Specialty]:
        async with self._uow_factory() as uow:
            return await uow.specialties.list()


class CreateSpecialty(UseCase):
    """Names are unique case-insensitively (``AlreadyExists`` otherwise)."""

    async def __call__(self, actor: Actor, name: str, description: str = "") -> Specialty:
        ensure_admin(actor, "add specialties")
        specialty = Specialty(id=uuid7(), name=_name(name), description=_description(description))
        async with self.change(actor) as (uow, audit):
            await uow.specialties.add(specialty)
            await audit("specialty.created", "specialty", specialty.id, name=specialty.name)
        return specialty


class UpdateSpecialty(UseCase):
    async def __call__(
        self, actor: Actor, specialty_id: UUID, changes: SpecialtyChanges
    ) -> Specialty:
        ensure_admin(actor, "change specialties")
        async with self.change(actor) as (uow, audit):
            current = await load(uow.specialties.get, specialty_id, "specialty")
            changed = changes.names()
            if not changed:
                return current
            # ``replace`` re-runs the entity's validation (name 1..120 characters).
            updated = replace(
                current,
                name=_name(pick(current.name, changes.name)),
                description=current.description
                if isinstance(changes.description, Unchanged)
                else _description(changes.description),
            )
            await uow.specialties.save(updated)
            await audit("specialty.updated", "specialty", specialty_id, fields=changed)
        return updated
