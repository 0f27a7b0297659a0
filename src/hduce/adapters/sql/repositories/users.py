"""User accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from sqlalchemy import Select, null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import UserRow
from hduce.adapters.sql.repositories._support import (
    affected_rows,
    like_pattern,
    page_of,
    paged,
    table,
)
from hduce.adapters.sql.repositories.care import cared_for_by
from hduce.application.ports import Page, UserQuery
from hduce.domain.errors import AlreadyExists, InvalidInput, NotFound
from hduce.domain.identity import Role, User, normalise_email


def _user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role.value,
        "phone": user.phone,
        "password_hash": user.password_hash,
        "google_subject": user.google_subject,
        "is_active": user.is_active,
        "timezone": user.timezone,
        "email_opt_out": user.email_opt_out,
        "sms_opt_out": user.sms_opt_out,
        "version": user.version,
        "created_at": user.created_at,
        "tokens_valid_after": user.tokens_valid_after,
        "email_verified_at": user.email_verified_at,
    }


def _opt_outs(user: User) -> Any:
    """The ``notification_opt_outs`` column: SQL NULL (not JSON ``null``) when none."""
    return sorted(user.notification_opt_outs) or null()


def to_user(row: Any) -> User:
    """``row``: a ``UserRow`` or a Core row of its columns."""
    return User(
        id=row.id,
        email=row.email,
        full_name=row.full_name,
        role=Role(row.role),
        created_at=row.created_at,
        phone=row.phone,
        password_hash=row.password_hash,
        google_subject=row.google_subject,
        is_active=row.is_active,
        timezone=row.timezone,
        email_opt_out=row.email_opt_out,
        sms_opt_out=row.sms_opt_out,
        version=row.version,
        tokens_valid_after=row.tokens_valid_after,
        email_verified_at=row.email_verified_at,
        notification_opt_outs=frozenset(row.notification_opt_outs or ()),
        admin_institution_id=row.admin_institution_id,
    )


class LoadedUsers:
    """The unit of work's identity map of accounts: each is read at most once per
    transaction (a booking needs the patient's and the doctor's; the doctor's comes
    with the doctor's profile). Hands out copies, so a caller's unsaved edits never
    leak into a later ``get``; cleared when the transaction is rolled back."""

    __slots__ = ("_users",)

    def __init__(self) -> None:
        self._users: dict[UUID, User] = {}

    def get(self, user_id: UUID) -> User | None:
        found = self._users.get(user_id)
        return replace(found) if found is not None else None

    def keep(self, user: User) -> User:
        self._users[user.id] = replace(user)
        return user

    def clear(self) -> None:
        self._users.clear()


class SqlUserRepository:
    def __init__(self, session: AsyncSession, loaded: LoadedUsers | None = None) -> None:
        self._session = session
        self._loaded = loaded if loaded is not None else LoadedUsers()

    async def add(self, user: User) -> None:
        try:
            # A savepoint keeps the surrounding transaction usable after a refusal
            # (PostgreSQL aborts the whole transaction on an error otherwise).
            async with self._session.begin_nested():
                values = _user_values(user)
                # Left out when empty (the column's NULL): an insert then names only the
                # columns every schema since 0001 has.
                if user.notification_opt_outs:
                    values["notification_opt_outs"] = _opt_outs(user)
                if user.admin_institution_id is not None:
                    values["admin_institution_id"] = user.admin_institution_id
                await self._session.execute(table(UserRow).insert().values(values))
        except IntegrityError as error:
            raise await self._duplicate(user) from error
        self._loaded.keep(user)

    async def get(self, user_id: UUID) -> User | None:
        loaded = self._loaded.get(user_id)
        if loaded is not None:
            return loaded
        return await self._one(select(UserRow).where(UserRow.id == user_id))

    async def get_many(self, user_ids: Sequence[UUID]) -> dict[UUID, User]:
        if not user_ids:
            return {}
        wanted = set(user_ids)
        found = {user_id: user for user_id in wanted if (user := self._loaded.get(user_id))}
        missing = wanted - found.keys()
        if missing:
            rows = await self._session.execute(
                select(*table(UserRow).c).where(UserRow.id.in_(missing))
            )
            for row in rows:
                user = self._loaded.keep(to_user(row))
                found[user.id] = user
        return found

    async def get_by_email(self, email: str) -> User | None:
        try:
            normalised = normalise_email(email)
        except InvalidInput:
            return None
        return await self._one(select(UserRow).where(UserRow.email == normalised))

    async def get_by_google_subject(self, subject: str) -> User | None:
        return await self._one(select(UserRow).where(UserRow.google_subject == subject))

    async def save(self, user: User) -> None:
        values = _user_values(user)
        del values["id"], values["created_at"]
        values["notification_opt_outs"] = _opt_outs(user)
        values["admin_institution_id"] = user.admin_institution_id
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    table(UserRow).update().where(UserRow.id == user.id).values(values)
                )
        except IntegrityError as error:
            raise await self._duplicate(user) from error
        if affected_rows(result) == 0:
            raise NotFound("user", user.id)
        self._loaded.keep(user)

    async def list(self, query: UserQuery) -> Page[User]:
        statement: Select[Any] = select(UserRow)
        if query.role is not None:
            statement = statement.where(UserRow.role == query.role.value)
        if query.is_active is not None:
            statement = statement.where(UserRow.is_active == query.is_active)
        if query.search and query.search.strip():
            pattern = like_pattern(query.search.strip())
            statement = statement.where(
                or_(
                    UserRow.email.ilike(pattern, escape="\\"),
                    UserRow.full_name.ilike(pattern, escape="\\"),
                )
            )
        if query.in_care_of is not None:
            statement = statement.where(cared_for_by(query.in_care_of, UserRow.id).exists())
        rows, total, limit, offset = await paged(
            self._session, statement, query.page, (UserRow.created_at, UserRow.email)
        )
        return page_of([to_user(row) for row in rows], total, limit, offset)

    async def _one(self, statement: Select[Any]) -> User | None:
        # Core, not ORM objects: an account is read on every request.
        row = (await self._session.execute(statement.with_only_columns(*table(UserRow).c))).first()
        return self._loaded.keep(to_user(row)) if row is not None else None

    async def _duplicate(self, user: User) -> Exception:
        """Name the uniqueness rule ``user`` broke (the error text differs per database)."""
        taken = await self._session.scalar(
            select(UserRow.id).where(UserRow.email == user.email, UserRow.id != user.id)
        )
        if taken is not None:
            return AlreadyExists(f"a user with email {user.email} already exists")
        if user.google_subject is not None:
            taken = await self._session.scalar(
                select(UserRow.id).where(
                    UserRow.google_subject == user.google_subject, UserRow.id != user.id
                )
            )
            if taken is not None:
                return AlreadyExists("that Google account is linked to another user")
        return AlreadyExists(f"user {user.id} already exists")
