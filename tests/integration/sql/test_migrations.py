"""Migrations on PostgreSQL and SQLite: up from empty, down to nothing, up again, a
schema that matches the models exactly (autogenerate finds nothing to do, and the
status rules autogenerate cannot compare name the domain's statuses), and data that
lives through each revision's way up and down."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import (
    SqlUnitOfWorkFactory,
    create_engine,
    current_revision,
    downgrade_database,
    upgrade_database,
)
from hduce.adapters.sql.migrations import MIGRATIONS_DIR, VERSION_TABLE
from hduce.adapters.sql.migrations.config import compare_type
from hduce.adapters.sql.models import (
    OCCUPYING_STATUS_VALUES,
    AppointmentRow,
    StatusHistoryRow,
    UserRow,
    metadata,
)
from hduce.adapters.sql.repositories._support import table
from hduce.adapters.sql.repositories.appointments import _appointment_values, _history_values
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.errors import SlotConflict
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot
from tests import services
from tests.unit.adapters.contract import (
    ALWAYS_OPEN,
    NOW,
    POLICY,
    Clinic,
    book,
    new_clinic,
    slot,
    store_appointments,
    store_clinic_profiles,
)

APPLICATION_TABLES = frozenset(metadata.tables)


@pytest.fixture
async def empty_engine(sql_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sql_database_url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


def _head() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": compare_type, "version_table": VERSION_TABLE}
    )
    return list(compare_metadata(context, metadata))


async def test_upgrade_downgrade_upgrade(sql_database_url: str, empty_engine: AsyncEngine) -> None:
    assert await current_revision(sql_database_url) is None
    assert await _tables(empty_engine) == set()

    await upgrade_database(sql_database_url)
    assert await current_revision(sql_database_url) == _head()
    assert await _tables(empty_engine) == APPLICATION_TABLES | {VERSION_TABLE}

    await downgrade_database(sql_database_url, "base")
    assert await current_revision(sql_database_url) is None
    assert await _tables(empty_engine) <= {VERSION_TABLE}

    await upgrade_database(sql_database_url)
    assert await current_revision(sql_database_url) == _head()
    await upgrade_database(sql_database_url)  # already at head: nothing to do
    assert await _tables(empty_engine) == APPLICATION_TABLES | {VERSION_TABLE}


def _schema(sync: Connection) -> dict[str, object]:
    """Every table's columns (with types), indexes (with their WHERE), keys and
    constraints, as the database describes them."""
    inspector = inspect(sync)
    described: dict[str, object] = {}
    for name in sorted(inspector.get_table_names()):
        if name == VERSION_TABLE:
            continue
        described[name] = (
            [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(name)
            ],
            sorted(
                (
                    i["name"] or "",
                    tuple(i["column_names"]),
                    bool(i["unique"]),
                    sorted((k, str(v)) for k, v in (i.get("dialect_options") or {}).items()),
                )
                for i in inspector.get_indexes(name)
            ),
            inspector.get_pk_constraint(name),
            sorted(repr(fk) for fk in inspector.get_foreign_keys(name)),
            sorted(repr(u) for u in inspector.get_unique_constraints(name)),
        )
    return described


async def test_downgrading_the_latest_revision_restores_the_previous_schema(
    sql_database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Down one step from head is exactly what upgrading to that step builds."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(_head())
    assert head is not None and isinstance(head.down_revision, str)
    previous = head.down_revision
    await upgrade_database(sql_database_url)
    await downgrade_database(sql_database_url, previous)
    assert await current_revision(sql_database_url) == previous

    async with _other_database(sql_database_url, tmp_path, request) as reference_url:
        await upgrade_database(reference_url, previous)
        schemas = []
        for url in (sql_database_url, reference_url):
            engine = create_engine(url, pool_size=1)
            try:
                async with engine.connect() as connection:
                    schemas.append(await connection.run_sync(_schema))
            finally:
                await engine.dispose()
    downgraded, reference = schemas
    assert downgraded == reference


@asynccontextmanager
async def _other_database(
    url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A second empty database of the same kind as ``url``."""
    if url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'reference.sqlite3'}"
        return
    admin_url = request.getfixturevalue("postgres_url")
    async with services.temporary_database(admin_url, prefix="hduce_reference") as other:
        yield other


async def test_autogenerate_finds_no_difference(
    sql_database_url: str, empty_engine: AsyncEngine
) -> None:
    await upgrade_database(sql_database_url)
    async with empty_engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_postgresql_gets_the_exclusion_constraints(postgres_database: str) -> None:
    """Autogenerate does not compare EXCLUDE constraints, so check them by name."""
    await upgrade_database(postgres_database)
    engine = create_engine(postgres_database, pool_size=1)
    async with engine.connect() as connection:
        constraints = set(
            await connection.scalars(
                text(
                    "SELECT conname FROM pg_constraint"
                    " WHERE conrelid = 'appointments'::regclass AND contype = 'x'"
                )
            )
        )
        extension = await connection.scalar(
            text("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'")
        )
    assert constraints == {
        "ex_appointments_doctor_id_overlap",
        "ex_appointments_patient_id_overlap",
    }
    assert extension == "btree_gist"


def test_every_migration_is_in_the_package() -> None:
    """The scripts ship inside the package (``hduce db upgrade`` works from a wheel)."""
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("*.py"))


async def test_emails_are_brought_to_one_spelling(
    sql_database_url: str, empty_engine: AsyncEngine
) -> None:
    """0005: rows written with the old rule (lower-cased only) get the NFKC + casefold
    spelling their owners now sign in with, unless another account has it already."""
    await upgrade_database(sql_database_url, "0004")
    stored = {
        "ascii": "ana@example.org",
        "fullwidth": "ｂｏｂ@example.org",
        "sharp-s": "straße@example.org",
        "ligature-first": "ﬁ@example.org",
        "ligature-clash": "fi@example.org",
    }
    created = datetime(2030, 1, 1, tzinfo=UTC)
    ids = {name: uuid7() for name in stored}
    async with empty_engine.begin() as connection:
        for offset, (name, email) in enumerate(stored.items()):
            await connection.execute(
                table(UserRow)
                .insert()
                .values(
                    id=ids[name],
                    email=email,
                    full_name=name,
                    role="patient",
                    is_active=True,
                    timezone="UTC",
                    email_opt_out=False,
                    sms_opt_out=False,
                    version=1,
                    created_at=created + timedelta(minutes=offset),
                )
            )
    await upgrade_database(sql_database_url)
    async with empty_engine.connect() as connection:
        rows = dict((await connection.execute(select(UserRow.id, UserRow.email))).all())
    assert {name: rows[ids[name]] for name in stored} == {
        "ascii": "ana@example.org",
        "fullwidth": "bob@example.org",
        "sharp-s": "strasse@example.org",
        "ligature-first": "ﬁ@example.org",  # "fi@example.org" is another account's
        "ligature-clash": "fi@example.org",
    }


# ------------------------------------------------------------------ the status rules

_QUOTED = re.compile(r"'([a-z_]+)'")


def _named(sql: str) -> set[str]:
    """The quoted words of a CHECK or a WHERE: the statuses it names."""
    return set(_QUOTED.findall(sql))


async def _status_rules(engine: AsyncEngine) -> tuple[set[str], list[set[str]]]:
    """The statuses the CHECK allows, and those each occupying predicate names (the
    partial indexes and, on PostgreSQL, the exclusion constraints)."""
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            check = await connection.scalar(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conname = 'ck_appointments_status'"
                )
            )
            predicates = list(
                await connection.scalars(
                    text(
                        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                        " WHERE conrelid = 'appointments'::regclass AND contype = 'x'"
                        " UNION ALL SELECT indexdef FROM pg_indexes"
                        " WHERE tablename = 'appointments' AND indexdef LIKE '%WHERE%'"
                        # The exclusion constraints' own indexes: counted once, above.
                        " AND indexname NOT LIKE 'ex\\_%'"
                        # Partial on something else (0007: replaces IS NOT NULL).
                        " AND indexdef LIKE '%status%'"
                    )
                )
            )
            return _named(check), [_named(p.split("WHERE", 1)[1]) for p in predicates]
        table_sql = await connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'appointments'")
        )
        indexes = list(
            await connection.scalars(
                text(
                    "SELECT sql FROM sqlite_master WHERE type = 'index'"
                    " AND tbl_name = 'appointments' AND sql LIKE '%WHERE%status%'"
                )
            )
        )
        check = re.search(r"ck_appointments_status CHECK \((.*?)\)", table_sql)
        assert check is not None, table_sql
        return _named(check.group(1)), [_named(sql.split("WHERE", 1)[1]) for sql in indexes]


async def test_the_schema_spells_out_the_domains_statuses(
    sql_database_url: str, empty_engine: AsyncEngine
) -> None:
    """Autogenerate compares neither CHECK texts nor index and constraint predicates: a
    status added to the domain without a migration would only fail at the first write."""
    await upgrade_database(sql_database_url)

    allowed, predicates = await _status_rules(empty_engine)

    assert allowed == {status.value for status in AppointmentStatus}
    expected = 5 if empty_engine.dialect.name == "postgresql" else 3
    assert len(predicates) == expected
    assert all(named == set(OCCUPYING_STATUS_VALUES) for named in predicates), predicates
    assert "proposed" in OCCUPYING_STATUS_VALUES  # a proposal holds its slot


# ------------------------------------------------------------------ 0003: proposals


def _proposal(clinic: Clinic, when: TimeSlot) -> Appointment:
    return Appointment.book(
        actor=Actor(Role.DOCTOR, clinic.doctor.user_id),
        patient_id=clinic.patient.id,
        doctor_id=clinic.doctor.user_id,
        slot=when,
        reason="follow-up",
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=(),
    )


#: The appointment columns every revision these tests visit has (0009, 0014 and 0019
#: added some).
_LATER_COLUMNS = frozenset(
    {"check_in_code", "blocked_starts_at", "blocked_ends_at", "visit_type_id", "institution_id"}
)
_OLD_COLUMNS = tuple(c.name for c in table(AppointmentRow).c if c.name not in _LATER_COLUMNS)


async def _store_old(uow_factory: SqlUnitOfWorkFactory, *appointments: Appointment) -> None:
    """``store_appointments`` for a schema older than the models (before 0009 and 0014): the
    rows and their history written with the columns that schema has."""
    async with uow_factory._engine.begin() as connection:
        for appointment in appointments:
            values = _appointment_values(appointment)
            await connection.execute(
                table(AppointmentRow).insert().values({k: values[k] for k in _OLD_COLUMNS})
            )
            lines = _history_values(appointment, 0)
            if lines:
                await connection.execute(table(StatusHistoryRow).insert(), lines)


async def _snapshot(
    engine: AsyncEngine, *appointments: Appointment
) -> dict[UUID, tuple[str, UUID | None, list[tuple[str | None, str, str]]]]:
    """Status, ``replaces`` and history of each stored one, read with Core and the
    columns of every revision (so it reads a schema older than the models too)."""
    rows, history = table(AppointmentRow), table(StatusHistoryRow)
    found: dict[UUID, tuple[str, UUID | None, list[tuple[str | None, str, str]]]] = {}
    async with engine.connect() as connection:
        for a in appointments:
            row = (
                await connection.execute(
                    select(rows.c.status, rows.c.replaces).where(rows.c.id == a.id)
                )
            ).first()
            if row is None:
                continue
            lines = await connection.execute(
                select(history.c.from_status, history.c.to_status, history.c.actor_role)
                .where(history.c.appointment_id == a.id)
                .order_by(history.c.position)
            )
            found[a.id] = (row.status, row.replaces, [tuple(line) for line in lines])
    return found


async def test_proposals_migrate_up_and_down_keeping_every_appointment_and_its_history(
    sql_database_url: str,
) -> None:
    await upgrade_database(sql_database_url, "0005")
    engine = create_engine(sql_database_url, pool_size=2)
    uow_factory = SqlUnitOfWorkFactory(engine)
    try:
        clinic = await _seed_clinic_on_an_old_schema(engine, uow_factory)
        first = book(clinic, slot(0))
        moved = first.reschedule(
            actor=clinic.admin_actor,
            new_slot=slot(60),
            now=NOW,
            policy=POLICY,
            availability=ALWAYS_OPEN,
            existing=(),
        )
        await _store_old(uow_factory, first, moved)
        before = await _snapshot(engine, first, moved)
        assert before[moved.id][1] == first.id and len(before[first.id][2]) == 2

        # Up: SQLite rebuilds the table; the history and ``replaces`` survive it.
        await upgrade_database(sql_database_url)
        assert await _snapshot(engine, first, moved) == before
        proposal, accepted = _proposal(clinic, slot(120)), _proposal(clinic, slot(180))
        accepted.accept(actor=Actor(Role.PATIENT, clinic.patient.id), now=NOW)
        await store_appointments(uow_factory, proposal, accepted)
        # A proposal holds its slot, in the storage's own rule too (on PostgreSQL the
        # exclusion constraint refuses: the conflict has its refusal as cause).
        clash = book(clinic, slot(135), patient=clinic.other_patient)
        with pytest.raises(SlotConflict) as refused:
            await store_appointments(uow_factory, clash)
        assert refused.value.conflicting_ids == (proposal.id,)
        if engine.dialect.name == "postgresql":
            assert refused.value.__cause__ is not None

        # Down: proposals become requests, in the rows and in their history.
        await downgrade_database(sql_database_url, "0005")
        after = await _snapshot(engine, first, moved, proposal, accepted)
        assert {key: after[key] for key in before} == before
        assert after[proposal.id] == ("pending", None, [(None, "pending", "doctor")])
        assert after[accepted.id][2] == [
            (None, "pending", "doctor"),
            ("pending", "approved", "patient"),
        ]
        with pytest.raises(IntegrityError):  # the old CHECK knows no "proposed"
            await _store_old(uow_factory, _proposal(clinic, slot(240)))

        await upgrade_database(sql_database_url)
        assert await _snapshot(engine, first, moved, proposal, accepted) == after
    finally:
        await engine.dispose()


async def _seed_clinic_on_an_old_schema(
    engine: AsyncEngine, uow_factory: SqlUnitOfWorkFactory
) -> Clinic:
    """``seed_clinic`` on a database at an earlier revision: the accounts are written
    with the columns the ``users`` table has at that revision (today's repository
    writes today's, e.g. 0011's ``email_verified_at``)."""
    clinic = new_clinic()
    async with engine.begin() as connection:
        columns = await connection.run_sync(
            lambda sync: {column["name"] for column in inspect(sync).get_columns("users")}
        )
        for user in clinic.users:
            # The columns are named as the account's fields; the role is stored by value.
            values = {name: getattr(user, name) for name in columns}
            values["role"] = user.role.value
            await connection.execute(table(UserRow).insert().values(values))
    async with uow_factory() as uow:
        await store_clinic_profiles(uow, clinic)
        await uow.commit()
    return clinic


async def _replaces_lookup_plan(engine: AsyncEngine, replaced: UUID) -> str:
    """How the database finds the rows pointing at ``replaced`` (what ON DELETE SET
    NULL does for each deleted appointment); PostgreSQL is told to avoid a sequential
    scan, which a handful of rows would otherwise make the cheapest plan."""
    lookup = "SELECT id FROM appointments WHERE replaces = :replaced"
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("SET enable_seqscan = off"))
            rows = await connection.execute(text(f"EXPLAIN {lookup}"), {"replaced": replaced})
        else:
            rows = await connection.execute(
                text(f"EXPLAIN QUERY PLAN {lookup}"), {"replaced": replaced.bytes}
            )
        return "\n".join(str(row[-1]) for row in rows)


async def _replaces_index_definition(engine: AsyncEngine) -> str | None:
    query = (
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_appointments_replaces'"
        if engine.dialect.name == "postgresql"
        else "SELECT sql FROM sqlite_master WHERE name = 'ix_appointments_replaces'"
    )
    async with engine.connect() as connection:
        found = await connection.scalar(text(query))
    return str(found) if found is not None else None


async def test_replaced_appointments_are_found_through_a_partial_index(
    sql_database_url: str,
) -> None:
    """0007: deleting an appointment finds the rows replacing it by index, not by a
    scan of the whole table; the rows survive the revision's way up and down."""
    await upgrade_database(sql_database_url, "0006")
    engine = create_engine(sql_database_url, pool_size=2)
    uow_factory = SqlUnitOfWorkFactory(engine)
    try:
        clinic = await _seed_clinic_on_an_old_schema(engine, uow_factory)
        first = book(clinic, slot(0))
        moved = first.reschedule(
            actor=clinic.admin_actor,
            new_slot=slot(60),
            now=NOW,
            policy=POLICY,
            availability=ALWAYS_OPEN,
            existing=(),
        )
        await _store_old(uow_factory, first, moved)
        assert await _replaces_index_definition(engine) is None
        assert "ix_appointments_replaces" not in await _replaces_lookup_plan(engine, first.id)

        await upgrade_database(sql_database_url)
        # SQLite: a pooled connection keeps planning with the schema it read before.
        await engine.dispose()
        definition = await _replaces_index_definition(engine)
        assert definition is not None
        assert re.search(r"WHERE \(?replaces IS NOT NULL\)?", definition), definition
        assert "ix_appointments_replaces" in await _replaces_lookup_plan(engine, first.id)
        before = await _snapshot(engine, first, moved)
        assert before[moved.id][1] == first.id

        # The foreign key still does its job: the replacement forgets a deleted original.
        async with engine.begin() as connection:
            await connection.execute(
                table(AppointmentRow).delete().where(AppointmentRow.id == first.id)
            )
        after = await _snapshot(engine, moved)
        assert after[moved.id] == (before[moved.id][0], None, before[moved.id][2])

        await downgrade_database(sql_database_url, "0006")
        assert await _replaces_index_definition(engine) is None
        assert await _snapshot(engine, moved) == after
    finally:
        await engine.dispose()


async def test_check_in_codes_are_backfilled_unique_and_survive_the_way_down(
    sql_database_url: str,
) -> None:
    """0009: appointments stored before it get a check-in code each (8 characters of
    the code alphabet, all different), the devices table comes and goes."""
    from hduce.domain.check_in_codes import ALPHABET

    await upgrade_database(sql_database_url, "0007")
    engine = create_engine(sql_database_url, pool_size=2)
    uow_factory = SqlUnitOfWorkFactory(engine)
    try:
        clinic = await _seed_clinic_on_an_old_schema(engine, uow_factory)
        old = [book(clinic, slot(60 * i)) for i in range(5)]
        await _store_old(uow_factory, *old)

        await upgrade_database(sql_database_url)
        async with uow_factory() as uow:
            stored = [await uow.appointments.get(a.id) for a in old]
            by_code = [
                await uow.appointments.get_by_check_in_code(s.check_in_code or "")
                for s in stored
                if s is not None
            ]
        codes = [s.check_in_code for s in stored if s is not None]
        assert len(codes) == 5 and len(set(codes)) == 5
        assert all(c and len(c) == 8 and set(c) <= set(ALPHABET) for c in codes)
        assert [f.id for f in by_code if f is not None] == [a.id for a in old]

        # Unique: a second row with a taken code is refused.
        clash = book(clinic, slot(600))
        clash.check_in_code = codes[0]
        with pytest.raises((IntegrityError, SlotConflict)):
            await store_appointments(uow_factory, clash)

        await downgrade_database(sql_database_url, "0007")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
            columns = await connection.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("appointments")}
            )
        assert "devices" not in tables and "check_in_code" not in columns
        assert set(await _snapshot(engine, *old)) == {a.id for a in old}
    finally:
        await engine.dispose()
