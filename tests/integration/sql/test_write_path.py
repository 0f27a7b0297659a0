"""The write unit of work on PostgreSQL: a Core transaction on a connection checked out
directly (``connection_of``), without the ORM's ``SessionTransaction``.

The booking's statements run in Core on that connection; a statement another repository
sends through the session joins the same transaction (the session is bound to the
connection). The commit writes the outbox and commits it; a rollback, an exception or a
cancellation leaves nothing, and every way out gives the connection back to the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.adapters.sql.models import AppointmentRow, UserRow
from hduce.adapters.sql.repositories._support import DIRECT_CONNECTION
from hduce.adapters.sql.unit_of_work import SqlUnitOfWork
from hduce.domain.errors import AlreadyExists, SlotConflict
from tests.unit.adapters.contract import Clinic, book, new_user, propose, seed_clinic, slot


class _Signal:
    def __init__(self) -> None:
        self.notified = 0

    def notify(self) -> None:
        self.notified += 1


@pytest.fixture
async def engine(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_database(postgres_database)
    # Two connections: one unit of work at a time, and a leak would show.
    engine = create_engine(postgres_database, pool_size=2, max_overflow=0, pool_timeout=2)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def observer(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    """Another pool: what other transactions see."""
    engine = create_engine(postgres_database, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def signal() -> _Signal:
    return _Signal()


@pytest.fixture
def uow_factory(engine: AsyncEngine, signal: _Signal) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine, outbox_signal=signal)


@pytest.fixture
async def clinic(uow_factory: SqlUnitOfWorkFactory) -> Clinic:
    return await seed_clinic(uow_factory)


def _checked_out(engine: AsyncEngine) -> int:
    return int(engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


def _orm_begins(uow: SqlUnitOfWork) -> list[Any]:
    """The ``SessionTransaction``s the unit of work's session begins."""
    begun: list[Any] = []
    event.listen(uow._session.sync_session, "after_begin", lambda *args: begun.append(args[1]))
    return begun


def _direct(uow: SqlUnitOfWork) -> Connection | None:
    direct: Connection | None = uow._session.info.get(DIRECT_CONNECTION)
    return direct


async def _count(observer: AsyncEngine, statement: Any) -> int:
    async with observer.connect() as connection:
        return int(await connection.scalar(statement))


def _appointments_with(appointment_id: Any) -> Any:
    return (
        select(func.count()).select_from(AppointmentRow).where(AppointmentRow.id == appointment_id)
    )


def _users_named(name: str) -> Any:
    return select(func.count()).select_from(UserRow).where(UserRow.full_name == name)


_OUTBOX = text("SELECT count(*) FROM outbox")


async def test_a_booking_commits_a_core_transaction_without_an_orm_one(
    uow_factory: SqlUnitOfWorkFactory,
    engine: AsyncEngine,
    observer: AsyncEngine,
    signal: _Signal,
    clinic: Clinic,
) -> None:
    outbox_before = await _count(observer, _OUTBOX)
    notified = signal.notified
    appointment = propose(clinic, slot(60))
    async with uow_factory(serialized=True) as uow:
        begun = _orm_begins(uow)
        # As the booking: the doctor, the overlaps, the insert (all Core statements).
        assert await uow.users.get(clinic.doctor_user.id) == clinic.doctor_user
        assert not await uow.appointments.occupying_overlapping(
            appointment.slot, doctor_id=clinic.doctor.user_id, patient_id=clinic.patient.id
        )
        await uow.appointments.add(appointment)
        direct = _direct(uow)
        assert direct is not None and direct.in_transaction()
        assert not uow._session.in_transaction()
        assert _checked_out(engine) == 1
        # Not committed yet: another transaction sees nothing.
        assert await _count(observer, _appointments_with(appointment.id)) == 0
        await uow.commit()
        assert _direct(uow) is None and not direct.in_transaction() and direct.closed
        assert _checked_out(engine) == 0
        assert uow._session.sync_session.bind is engine.sync_engine
    assert begun == []
    assert await _count(observer, _appointments_with(appointment.id)) == 1
    assert await _count(observer, _OUTBOX) > outbox_before
    assert signal.notified == notified + 1
    assert _checked_out(engine) == 0


async def test_a_statement_through_the_session_joins_the_core_transaction(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, observer: AsyncEngine, clinic: Clinic
) -> None:
    appointment = propose(clinic, slot(120))
    newcomer = new_user("Joined Newcomer")
    async with uow_factory() as uow:
        begun = _orm_begins(uow)
        await uow.appointments.add(appointment)  # Core
        direct = _direct(uow)
        assert direct is not None
        # The ORM reads the uncommitted row: the same transaction, the same connection.
        session = uow._session
        found = await session.scalar(
            select(AppointmentRow.id).where(AppointmentRow.id == appointment.id)
        )
        assert found == appointment.id
        assert len(begun) == 1 and begun[0] is session.sync_session.get_transaction()
        assert await session.run_sync(lambda sync: sync.connection()) is direct
        # An ORM write in a savepoint (a duplicate refused) keeps the transaction usable.
        await uow.users.add(newcomer)
        with pytest.raises(AlreadyExists):
            await uow.users.add(new_user("Joined Newcomer", email=newcomer.email))
        assert _direct(uow) is direct and direct.in_transaction()
        assert _checked_out(engine) == 1
        assert await _count(observer, _users_named("Joined Newcomer")) == 0
        await uow.commit()
        # The session's commit did not end the Core transaction early: both are committed.
        assert not session.in_transaction() and direct.closed
        assert _checked_out(engine) == 0
    assert await _count(observer, _appointments_with(appointment.id)) == 1
    assert await _count(observer, _users_named("Joined Newcomer")) == 1
    assert _checked_out(engine) == 0


async def test_leaving_without_a_commit_leaves_nothing(
    uow_factory: SqlUnitOfWorkFactory,
    engine: AsyncEngine,
    observer: AsyncEngine,
    signal: _Signal,
    clinic: Clinic,
) -> None:
    outbox_before = await _count(observer, _OUTBOX)
    notified = signal.notified
    first, second, third = (propose(clinic, slot(minutes)) for minutes in (180, 240, 300))

    # Core only, left without a commit.
    async with uow_factory() as uow:
        await uow.appointments.add(first)
        assert _direct(uow) is not None
    # Core then ORM, left by an exception between statements.
    with pytest.raises(RuntimeError, match="between"):
        async with uow_factory() as uow:
            await uow.appointments.add(first)
            await uow.users.add(new_user("Never Stored"))
            assert uow._session.in_transaction()
            raise RuntimeError("between statements")
    # Cancelled while the transaction is open.
    entered = asyncio.Event()

    async def cancelled() -> None:
        async with uow_factory() as uow:
            await uow.appointments.add(second)
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(cancelled())
    await entered.wait()
    assert _checked_out(engine) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _checked_out(engine) == 0

    # Rolled back midway, then committed: only what came after the rollback is kept.
    async with uow_factory() as uow:
        await uow.appointments.add(first)
        await uow.rollback()
        assert _direct(uow) is None and not uow._session.in_transaction()
        assert _checked_out(engine) == 0
        # (``second``'s events went with the cancelled unit of work's rollback.)
        await uow.appointments.add(third)
        await uow.commit()

    for appointment, expected in ((first, 0), (second, 0), (third, 1)):
        assert await _count(observer, _appointments_with(appointment.id)) == expected
    assert await _count(observer, _users_named("Never Stored")) == 0
    assert await _count(observer, _OUTBOX) == outbox_before + 1
    assert signal.notified == notified + 1
    assert _checked_out(engine) == 0


async def test_a_refused_overlap_rolls_the_core_transaction_back_and_names_the_conflict(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, observer: AsyncEngine, clinic: Clinic
) -> None:
    taken = book(clinic, slot(300))
    moved = book(clinic, slot(360), patient=clinic.other_patient)
    async with uow_factory() as uow:
        await uow.appointments.add(taken)
        await uow.appointments.add(moved)
        await uow.commit()
    async with uow_factory() as uow:
        # A Core statement first: the unit of work runs on its direct connection.
        assert await uow.users.get(clinic.patient.id) == clinic.patient
        direct = _direct(uow)
        assert direct is not None
        loaded = await uow.appointments.get(moved.id)
        assert loaded is not None
        loaded.slot = slot(315)  # now overlapping ``taken`` for the doctor
        # The exclusion constraint refuses the UPDATE and aborts the transaction: it is
        # rolled back (the connection given back), and the conflict read in a new one.
        with pytest.raises(SlotConflict) as refused:
            await uow.appointments.save(loaded, expected_version=loaded.version)
        assert refused.value.conflicting_ids == (taken.id,)
        assert direct.closed
        # The unit of work goes on in a new transaction, and can commit it.
        await uow.users.add(new_user("After The Conflict"))
        await uow.commit()
    assert _checked_out(engine) == 0
    assert await _count(observer, _users_named("After The Conflict")) == 1


async def test_the_joined_session_commits_nothing_and_rolls_back_everything(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine, observer: AsyncEngine, clinic: Clinic
) -> None:
    """What ``commit_direct_connection`` and ``release_direct_connection`` rely on:
    SQLAlchemy's default ``join_transaction_mode`` ("conditional_savepoint") joins the
    connection's transaction as "rollback_only"."""
    first, second = propose(clinic, slot(420)), propose(clinic, slot(480))
    async with uow_factory() as uow:
        session = uow._session
        await uow.appointments.add(first)
        direct = _direct(uow)
        assert direct is not None
        assert await session.scalar(select(func.count()).select_from(AppointmentRow)) == 1
        # The session's commit ends its own transaction only.
        await session.run_sync(lambda sync: sync.commit())
        assert direct.in_transaction() and not session.in_transaction()
        assert await _count(observer, _appointments_with(first.id)) == 0
        # Its rollback rolls the connection's transaction back.
        await uow.appointments.add(second)
        assert await session.scalar(select(func.count()).select_from(AppointmentRow)) == 2
        await session.run_sync(lambda sync: sync.rollback())
        assert not direct.in_transaction()
    assert _checked_out(engine) == 0
    assert await _count(observer, select(func.count()).select_from(AppointmentRow)) == 0
