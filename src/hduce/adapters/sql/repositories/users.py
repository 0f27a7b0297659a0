"""User accounts."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from copy import copy
from typing import Any, Final
from uuid import UUID

import msgspec
from sqlalchemy import Select, Text, bindparam, cast, null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import UserRow
from hduce.adapters.sql.repositories._support import (
    DriverStatement,
    affected_rows,
    execute_core,
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


def to_user(row: Any, opt_outs: Iterable[str] | None = None) -> User:
    """``row``: a ``UserRow`` or a Core row of its columns; ``opt_outs``: its
    notification opt-outs, when the row holds them otherwise (``_from_by_id``)."""
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
        notification_opt_outs=frozenset(
            (row.notification_opt_outs or ()) if opt_outs is None else opt_outs
        ),
        admin_institution_id=row.admin_institution_id,
    )


#: JSON ``null`` is read as no opt-outs, as ``to_user`` reads it.
_OPT_OUTS: Final = msgspec.json.Decoder(list[str] | None)


def _read_columns() -> list[Any]:
    """Every column of an account, the opt-outs as the document's JSON text (decoded in
    ``_from_by_id``): a JSON column's result processing would keep a statement off
    driver SQL."""
    columns = table(UserRow).c
    return [
        *(column for column in columns if column.key != "notification_opt_outs"),
        cast(columns.notification_opt_outs, Text).label("notification_opt_outs"),
    ]


def _by_id_statement() -> DriverStatement:
    """An account by id, built and compiled once (``DriverStatement``; typed rows: sent as
    driver SQL on PostgreSQL, as this Core statement elsewhere): read on every
    request that loads the actor."""
    columns = table(UserRow).c
    return DriverStatement(
        select(*_read_columns()).where(columns.id == bindparam("user_id", type_=columns.id.type)),
        typed_rows=True,
    )


#: ``get_many``'s statements take this many ids (the two parties of an appointment
#: event, the recipients of a delivery batch...): a few shapes, each compiled once; a
#: shorter list repeats its last id, a longer one goes in several statements.
_ID_COUNTS: Final = (1, 2, 4, 8, 16, 32, 64, 128)


def _id_count(wanted: int) -> int:
    return next((count for count in _ID_COUNTS if count >= wanted), _ID_COUNTS[-1])


@functools.cache
def _by_ids_statement(count: int) -> DriverStatement:
    """``count`` accounts by id (``id IN (:u0, ...)``), built and compiled once per count
    of ``_ID_COUNTS``: an expanding ``IN`` could not be sent as precompiled driver SQL."""
    columns = table(UserRow).c
    return DriverStatement(
        select(*_read_columns()).where(
            columns.id.in_(
                [bindparam(f"u{index}", type_=columns.id.type) for index in range(count)]
            )
        ),
        typed_rows=True,
    )


_BY_ID: Final = _by_id_statement()


def _from_by_id(row: Any) -> User:
    text = row.notification_opt_outs
    return to_user(row, (_OPT_OUTS.decode(text) if text else None) or ())


class LoadedUsers:
    """The unit of work's identity map of accounts: each is read at most once per
    transaction (a booking needs the patient's and the doctor's; the doctor's comes
    with the doctor's profile). Hands out copies, so a caller's unsaved edits never
    leak into a later ``get``; cleared when the transaction is rolled back. The copies
    are shallow (``copy``, every field an immutable value): the account was validated
    when it was built, and ``replace`` would validate it again for each copy."""

    __slots__ = ("_users",)

    def __init__(self) -> None:
        self._users: dict[UUID, User] = {}

    def get(self, user_id: UUID) -> User | None:
        found = self._users.get(user_id)
        return copy(found) if found is not None else None

    def keep(self, user: User) -> User:
        self._users[user.id] = copy(user)
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
        row = (await execute_core(self._session, _BY_ID, {"user_id": user_id})).first()
        return self._loaded.keep(_from_by_id(row)) if row is not None else None

    async def get_many(self, user_ids: Sequence[UUID]) -> dict[UUID, User]:
        if not user_ids:
            return {}
        wanted = set(user_ids)
        found = {user_id: user for user_id in wanted if (user := self._loaded.get(user_id))}
        missing = list(wanted - found.keys())
        while missing:
            count = _id_count(len(missing))
            chunk, missing = missing[:count], missing[count:]
            rows = await execute_core(
                self._session,
                _by_ids_statement(count),
                {f"u{index}": chunk[min(index, len(chunk) - 1)] for index in range(count)},
            )
            for row in rows:
                user = self._loaded.keep(_from_by_id(row))
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
