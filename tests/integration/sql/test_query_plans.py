"""The hot queries are index-backed on SQLite, with the index each was designed for.

SQLite's planner is deterministic without statistics, so the plans can be pinned here;
PostgreSQL's choices depend on table statistics: ``bench/explain_plans.py`` shows them
on a million rows. A plan that names the wrong index (or scans the table) means a
query no longer matches its partial index's WHERE, typically after an edit on one side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import create_engine, upgrade_database
from hduce.adapters.sql.explain import Explain
from hduce.adapters.sql.models import AppointmentRow
from hduce.adapters.sql.outbox import next_batch_statement
from hduce.adapters.sql.repositories.appointment_list import list_page_statement, list_statement
from hduce.adapters.sql.repositories.appointments import (
    approved_starting_between_statement,
    busy_slots_statement,
    occupying_overlapping_statement,
    overdue_statement,
)
from hduce.adapters.sql.repositories.notifications import claimable_statement
from hduce.application.ports import AppointmentQuery
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot

T = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
VISIT = TimeSlot(T, T + timedelta(minutes=30))
BY_START = (AppointmentRow.starts_at, AppointmentRow.id)

PLANS: dict[str, tuple[Any, set[str]]] = {
    "conflict check": (
        occupying_overlapping_statement(VISIT, doctor_id=uuid7(), patient_id=uuid7()),
        {"ix_appointments_doctor_id_occupying", "ix_appointments_patient_id_occupying"},
    ),
    "busy slots": (
        busy_slots_statement(uuid7(), TimeSlot(T, T + timedelta(days=7))),
        {"ix_appointments_doctor_id_occupying"},
    ),
    "patient's list": (
        list_statement(AppointmentQuery(patient_id=uuid7())).order_by(*BY_START).limit(50),
        {"ix_appointments_patient_id_starts_at"},
    ),
    "patient's list page, with its total": (
        list_page_statement(AppointmentQuery(patient_id=uuid7()), 20, 0),
        {"ix_appointments_patient_id_starts_at"},
    ),
    "doctor's upcoming list": (
        list_statement(AppointmentQuery(doctor_id=uuid7(), starts_from=T))
        .order_by(*BY_START)
        .limit(50),
        {"ix_appointments_doctor_id_starts_at"},
    ),
    "reminders": (
        approved_starting_between_statement(T, T + timedelta(minutes=5)),
        {"ix_appointments_occupying_starts_at"},
    ),
    "overdue sweep": (
        overdue_statement(T, T - timedelta(minutes=15)),
        {"ix_appointments_occupying_starts_at"},
    ),
    "outbox batch": (next_batch_statement(100), {"ix_outbox_published_at"}),
    "delivery claim": (claimable_statement(T, 100), {"ix_notifications_pending_delivery"}),
}
#: Partial indexes a plan may walk from the start: they hold only the rows wanted (the
#: pending email/SMS), in the order wanted, so "SCAN ... USING INDEX" reads no others.
PARTIAL_SCANS = ("USING INDEX ix_notifications_pending_delivery",)
#: Queries whose index gives their whole ORDER BY: they stop after LIMIT rows.
UNSORTED = {"delivery claim", "outbox batch"}


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'plans.sqlite3'}"
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.mark.parametrize("query", sorted(PLANS))
async def test_the_query_uses_its_index(sqlite_engine: AsyncEngine, query: str) -> None:
    statement, expected_indexes = PLANS[query]
    async with sqlite_engine.connect() as connection:
        details = [row[3] for row in await connection.execute(Explain(statement))]
    plan = "\n".join(details)
    scans = [
        d
        for d in details
        # A window function's rows are read back from its subquery, not from a table;
        # the list's page (LIMIT rows at most) is read back before its histories join.
        if d.startswith("SCAN ")
        and not d.endswith(PARTIAL_SCANS)
        and "(subquery-" not in d
        and d.split() != ["SCAN", "page"]
    ]
    assert not scans, plan
    if query in UNSORTED:
        assert not any("TEMP B-TREE" in detail for detail in details), plan
    used = {word for detail in details for word in detail.split() if word.startswith("ix_")}
    assert used == expected_indexes, plan
