"""User accounts (emails and Google subjects unique)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, copied, paginate
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import Page, UserQuery
from hduce.domain.errors import AlreadyExists, InvalidInput, NotFound
from hduce.domain.identity import User, normalise_email
from hduce.domain.privacy import establishes_care


class InMemoryUserRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._users = tables.users
        self._appointments = tables.appointments

    def _check_unique(self, user: User) -> None:
        email = user.email.casefold()
        for other in self._users.values():
            if other.id == user.id:
                continue
            if other.email.casefold() == email:
                raise AlreadyExists(f"the email {user.email} is already registered")
            if user.google_subject is not None and other.google_subject == user.google_subject:
                raise AlreadyExists("that Google account is already linked to another user")

    async def add(self, user: User) -> None:
        if user.id in self._users:
            raise AlreadyExists(f"user {user.id} already exists")
        self._check_unique(user)
        self._users.put(user.id, copied(user), insert=True)

    async def get(self, user_id: UUID) -> User | None:
        return copied(self._users.get(user_id))

    async def get_many(self, user_ids: Sequence[UUID]) -> dict[UUID, User]:
        found = {user_id: copied(self._users.get(user_id)) for user_id in user_ids}
        return {user_id: user for user_id, user in found.items() if user is not None}

    async def get_by_email(self, email: str) -> User | None:
        try:
            wanted = normalise_email(email)
        except InvalidInput:
            return None
        for user in self._users.values():
            if user.email.casefold() == wanted:
                return copied(user)
        return None

    async def get_by_google_subject(self, subject: str) -> User | None:
        for user in self._users.values():
            if user.google_subject == subject:
                return copied(user)
        return None

    async def save(self, user: User) -> None:
        if user.id not in self._users:
            raise NotFound("user", user.id)
        self._check_unique(user)
        self._users.put(user.id, copied(user))

    async def list(self, query: UserQuery) -> Page[User]:
        needle = query.search.strip().casefold() if query.search else None
        found = [
            user
            for user in self._users.values()
            if (query.role is None or user.role is query.role)
            and (query.is_active is None or user.is_active is query.is_active)
            and (
                needle is None
                or needle in user.email.casefold()
                or needle in user.full_name.casefold()
            )
        ]
        if query.in_care_of is not None:
            cared_for = {
                a.patient_id
                for a in self._appointments.values()
                if a.doctor_id == query.in_care_of and establishes_care(a.status, a.history)
            }
            found = [user for user in found if user.id in cared_for]
        found.sort(key=lambda u: (u.created_at, u.email))
        return paginate([copied(u) for u in found], query.page)

    def validate_commit(self) -> None:
        for user_id in self._users.inserts_taken():
            raise AlreadyExists(f"user {user_id} already exists")
        for _, user in self._users.written():
            self._check_unique(user)
