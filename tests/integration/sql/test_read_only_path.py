"""The read path of every authenticated request: an account by id (a precompiled
statement, ``users._BY_ID``) and the read-only unit of work (on PostgreSQL a connection
of the autocommit engine, without an ORM transaction), on PostgreSQL and SQLite.

The account read by id must be the account the ORM reads (``to_user`` of its
``UserRow``), field for field, whatever its optional fields hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine
from hduce.adapters.sql.models import UserRow
from hduce.adapters.sql.repositories._support import DIRECT_CONNECTION, execute_core
from hduce.adapters.sql.repositories.users import to_user
from hduce.application.appointments.queries import ListAppointmentViews
from hduce.application.ports import AppointmentQuery
from hduce.domain.identity import Actor, Role, User
from tests.unit.adapters.contract import (
    NOW,
    new_user,
    propose,
    seed_clinic,
    slot,
    store_appointments,
)


def _accounts() -> list[User]:
    return [
        new_user("Plain Patient"),
        new_user(
            "Full Patient",
            phone="+34600111222",
            password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            google_subject="google-123",
            is_active=False,
            timezone="Europe/Madrid",
            email_opt_out=True,
            sms_opt_out=True,
            version=7,
            notification_opt_outs=frozenset({"email:appointment.approved", "sms:reminder"}),
            tokens_valid_after=NOW + timedelta(seconds=1),
            email_verified_at=NOW - timedelta(days=2),
        ),
        new_user("Scoped Admin", role=Role.ADMIN, admin_institution_id=uuid4()),
    ]


async def _as_the_orm_reads_it(uow_factory: SqlUnitOfWorkFactory, user_id: object) -> User:
    async with uow_factory() as uow:
        session = uow._session
        row = (await session.execute(select(UserRow).where(UserRow.id == user_id))).scalar_one()
        return to_user(row)


async def test_an_account_by_id_is_the_account_the_orm_reads(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    accounts = _accounts()
    async with uow_factory() as uow:
        for account in accounts:
            await uow.users.add(account)
        await uow.commit()

    for account in accounts:
        expected = await _as_the_orm_reads_it(uow_factory, account.id)
        assert expected == account
        for read_only in (True, False):
            async with uow_factory(read_only=read_only) as uow:
                assert await uow.users.get(account.id) == expected
                # The second read comes from the unit of work's copy: equal, not the same.
                again = await uow.users.get(account.id)
                assert again == expected
                assert again is not await uow.users.get(account.id)
    async with uow_factory(read_only=True) as uow:
        assert await uow.users.get(uuid4()) is None


async def test_opt_outs_stored_as_json_null_read_as_none(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    account = new_user("Old Row")
    async with uow_factory() as uow:
        await uow.users.add(account)
        # A row written as JSON ``null`` rather than SQL NULL (``to_user`` reads it as none).
        await uow._session.execute(
            update(UserRow).where(UserRow.id == account.id).values(notification_opt_outs=None)
        )
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        read = await uow.users.get(account.id)
    assert read is not None and read.notification_opt_outs == frozenset()
    assert read == await _as_the_orm_reads_it(uow_factory, account.id)


async def test_a_changed_account_is_read_changed_by_the_next_unit_of_work(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    account = new_user("Soon Disabled")
    async with uow_factory() as uow:
        await uow.users.add(account)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert (await uow.users.get(account.id)).is_active  # type: ignore[union-attr]
    async with uow_factory() as uow:
        user = await uow.users.get(account.id)
        assert user is not None
        user.is_active = False
        user.role = Role.DOCTOR
        await uow.users.save(user)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        read = await uow.users.get(account.id)
    assert read is not None and not read.is_active and read.role is Role.DOCTOR


@pytest.fixture
async def one_connection(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    # A unit of work that took a second connection would wait for it in vain.
    engine = create_engine(migrated_url, pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_read_only_unit_of_work_uses_one_connection_and_gives_it_back(
    one_connection: AsyncEngine,
) -> None:
    uow_factory = SqlUnitOfWorkFactory(one_connection)
    clinic = await seed_clinic(uow_factory)
    await store_appointments(uow_factory, propose(clinic, slot(60)))
    pool = one_connection.sync_engine.pool
    for _ in range(2):
        async with uow_factory(read_only=True) as uow:
            # A precompiled statement, then one through the ORM session, then Core again.
            assert await uow.users.get(clinic.patient.id) == clinic.patient
            doctor = await uow.doctors.get(clinic.doctor.user_id)
            assert doctor is not None and doctor.user_id == clinic.doctor.user_id
            page = await uow.appointments.list_listed(
                AppointmentQuery(patient_id=clinic.patient.id)
            )
            assert len(page.items) == 1
            counted = await execute_core(uow._session, select(func.count()).select_from(UserRow))
            assert counted.scalar_one() == len(clinic.users)
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        direct = uow._session.info.get(DIRECT_CONNECTION)
        assert direct is None
    # Read-only units of work side by side each wait their turn for the one connection.
    views = ListAppointmentViews(uow_factory)
    patient = Actor(Role.PATIENT, clinic.patient.id)
    pages = await asyncio.gather(*(views(patient, AppointmentQuery()) for _ in range(5)))
    assert {page.total for page in pages} == {1}
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_read_only_unit_of_work_rolled_back_midway_reads_again(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    async with uow_factory(read_only=True) as uow:
        assert await uow.users.get(clinic.patient.id) == clinic.patient
        await uow.rollback()
        assert await uow.users.get(clinic.admin.id) == clinic.admin
