"""Staff finding patients: admins among every patient account, doctors among the
patients in their care only (``hduce.domain.privacy.establishes_care``, the rule that
opens a record to them), so a doctor can neither read nor discover another doctor's
patient. Patients search nobody."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hduce.application.ports import Page, PageRequest, UnitOfWorkFactory, UserQuery
from hduce.domain.errors import InvalidInput, PermissionDenied
from hduce.domain.identity import Actor, Role, User

MAX_SEARCH_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class PatientSearch:
    #: Matched against the email and the full name, case-insensitively, as a substring.
    text: str | None = None
    page: PageRequest = PageRequest()


class SearchPatients:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, search: PatientSearch) -> Page[User]:
        if actor.role is Role.DOCTOR and actor.user_id is not None:
            in_care_of = actor.user_id
        elif actor.role in (Role.ADMIN, Role.SYSTEM):
            in_care_of = None
        else:
            raise PermissionDenied("only staff (doctors and admins) may search patients")
        text = (search.text or "").strip()
        if len(text) > MAX_SEARCH_LENGTH or any(ord(c) < 32 for c in text):
            raise InvalidInput(
                f"search is at most {MAX_SEARCH_LENGTH} characters without control characters",
                field="search",
            )
        async with self._uow_factory() as uow:
            return await uow.users.list(
                UserQuery(
                    role=Role.PATIENT, search=text or None, page=search.page, in_care_of=in_care_of
                )
            )
